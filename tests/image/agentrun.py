"""The entrypoint and repo-init as processes on the host: what the image tests start and read.

A module of its own, not conftest: pytest imports every test folder's conftest under the one
name `conftest`, so `from conftest import ...` in a test may find another folder's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.pi_runtime import ENTRYPOINT, REPO_INIT


def repo_init(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``image/repo-init`` to its end, as the task's repo-init container runs first."""
    return subprocess.run(
        [str(REPO_INIT)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class Run:
    """A (possibly still running) entrypoint process and what it has printed so far."""

    proc: subprocess.Popen
    env: dict[str, str]
    started: float
    stdout_lines: list[str] = field(default_factory=list)
    stderr_chunks: list[str] = field(default_factory=list)
    returncode: int | None = None
    duration: float = 0.0
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_chunks)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every stdout line parsed; fails the test if any line is not a JSON object."""
        out = []
        for line in list(self.stdout_lines):
            obj = json.loads(line)
            assert isinstance(obj, dict), line
            out.append(obj)
        return out

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def end(self) -> dict[str, Any]:
        ends = [e for e in self.events if e["type"] == "runtime_end"]
        assert len(ends) == 1, self.stdout_lines[-3:]
        return ends[0]

    def wait_for(self, predicate, timeout: float = 15.0) -> None:
        """Poll until ``predicate()`` holds (the run is mid-flight), or fail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                self.wait()
                raise AssertionError(f"entrypoint exited early: {self.returncode}\n{self.stderr}")
            time.sleep(0.02)
        raise AssertionError("condition not reached in time")

    def wait(self, timeout: float = 30.0) -> Run:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise
        finally:
            for reader in self.readers:
                reader.join(5)
        self.returncode = self.proc.returncode
        self.duration = time.monotonic() - self.started
        return self


def start(env: dict[str, str], cwd: Path) -> Run:
    """Start the entrypoint (in its own session, so a stray cannot signal pytest)."""
    proc = subprocess.Popen(
        [str(ENTRYPOINT)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    run = Run(proc=proc, env=env, started=time.monotonic())

    def pump(stream, sink: list[str], strip: bool) -> None:
        for line in stream:
            sink.append(line.rstrip("\n") if strip else line)

    run.readers = [
        threading.Thread(target=pump, args=(proc.stdout, run.stdout_lines, True), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, run.stderr_chunks, False), daemon=True),
    ]
    for reader in run.readers:
        reader.start()
    return run
