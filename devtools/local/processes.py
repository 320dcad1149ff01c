"""Processes `make up` leaves running, found again and stopped by their recorded pid.

A pid file alone is not proof: after a reboot the number may belong to someone else. So a
process counts as ours only while its command line still carries the marker it was started
with, and only then is it signalled. Nothing is ever stopped by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from toolchain.paths import PROJECT_ROOT


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (tests start and stop in-process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int | None, marker: str) -> bool:
    """`pid` runs and its command line contains `marker` (so it is the process we started)."""
    if not pid:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return not _is_zombie(pid) and marker in _cmdline(pid)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid}\n")


def stop(pid: int | None, marker: str, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True if a process of ours was running."""
    if not alive(pid, marker):
        return False
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, marker):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """The port can be bound (nothing listens and nothing holds it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def spawn(module: str, args: list[str], *, log_path: Path, pid_path: Path) -> subprocess.Popen:
    """`python -m module args...` in its own session, output appended to its log, pid recorded.

    Its own session, so a Ctrl-C of `make up` does not reach it: `make down` stops it by pid.
    """
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    write_pid(pid_path, process.pid)
    return process
