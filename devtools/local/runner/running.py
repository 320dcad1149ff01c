"""One started container of a task: its process, its awslogs stream, and how it ended.

Each container's stdout goes to its own stream (`<prefix>/<container>/<task-id>`), as the
awslogs driver sends it; stderr goes to a file beside the task's directory (the runner's own
diagnostics, never read by the control plane).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from devtools.local.runner.container import Launcher
from devtools.local.runner.launch import Launch
from devtools.local.runner.log_stream import LogStream
from devtools.local.runner.task_files import TaskFiles
from devtools.local.runner.task_spec import ContainerSpec, TaskSpec


@dataclass
class Running:
    """A started container."""

    spec: ContainerSpec
    launch: Launch
    stream: LogStream
    stderr: IO[bytes]
    pump: threading.Thread = field(init=False)
    _finished: bool = False

    def __post_init__(self) -> None:
        self.pump = threading.Thread(target=self._copy, daemon=True)
        self.pump.start()

    @classmethod
    def start(
        cls,
        launcher: Launcher,
        task: TaskSpec,
        container: ContainerSpec,
        files: TaskFiles,
        bare: Path | None,
        client: Callable[[str], Any],
        stderr_path: Path,
    ) -> Running:
        """Start `container` with its stream ready (OSError if it cannot be executed)."""
        stream = LogStream(client("logs"), container.log_group, container.log_stream)
        stderr = open(stderr_path, "ab")  # noqa: SIM115 - closed by finish()
        try:
            launch = launcher.start(task, container, files, bare, stderr)
        except OSError:
            stderr.close()
            stream.close()
            raise
        return cls(spec=container, launch=launch, stream=stream, stderr=stderr)

    @property
    def exited(self) -> bool:
        return self.launch.process.poll() is not None

    @property
    def exit_code(self) -> int | None:
        """The exit code as ECS reports it (a signal n: 128+n, as docker says)."""
        code = self.launch.process.poll()
        if code is None:
            return None
        return code if code >= 0 else 128 - code

    def _copy(self) -> None:
        assert self.launch.process.stdout is not None
        for raw in self.launch.process.stdout:
            self.stream.write(raw.decode("utf-8", errors="replace"))

    def finish(self, log: Callable[[str], None], arn: str) -> None:
        """After the process exited: send the stream's last lines (once)."""
        if self._finished:
            return
        self._finished = True
        self.launch.process.wait()
        self.pump.join(5)  # an orphan holding stdout must not hold the report back
        try:
            self.stream.close()
        except Exception as error:  # lost log lines do not change how the task ended
            log(f"{arn}: the last log lines of {self.spec.name} were not written: {error!r}"[:500])
        finally:
            self.stderr.close()
