"""The process of one started container, and how ECS's signals reach it.

In image mode the process the runner holds is `buildah run`, which forwards no signal; the
container's shell writes its pid into the container's own directory, and signals go there.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.local.runner.task_files import PID_FILE


@dataclass
class Launch:
    """The process of one container and its own directory."""

    process: subprocess.Popen
    workdir: Path  # the container's own directory (task_files.runtime)
    mode: str

    def signal(self, signum: int, wait_seconds: float = 2.0) -> None:
        """Signal the container's first process, as ECS signals a container's PID 1.

        On the host that is the process itself. `buildah run` forwards no signal: a SIGTERM
        to it kills the container's process outright and exits 1, so the entrypoint never
        writes its `runtime_end` nor exits 143. In image mode the pid comes from the file
        the container's shell wrote - and since the container could write any number there,
        it is used only if that process descends from this launch's `buildah run`.
        """
        target = self.process.pid
        if self.mode == "image":
            deadline = time.monotonic() + wait_seconds
            while (found := self._entrypoint_pid()) is None and time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return
                time.sleep(0.05)
            target = found or target
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signum)

    def _entrypoint_pid(self) -> int | None:
        try:
            pid = int((self.workdir / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _descends_from(pid, self.process.pid) else None


def _descends_from(pid: int, ancestor: int) -> bool:
    """`pid` is `ancestor` or one of its descendants (walking /proc's parent links)."""
    for _ in range(64):
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state
        if pid <= 1:
            return False
    return False
