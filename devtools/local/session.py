"""What `make up` and `make down` share: the processes they manage and one run at a time."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator

from devtools.local.paths import LocalPaths

# Command-line markers that identify the processes `make up` started (pids are reused).
MOTO_MARKER = "devtools.moto_fidelity"
SERVE_MARKER = "devtools.local.serve"


class UpError(RuntimeError):
    """`make up` cannot continue; the message says why and what to do."""


@contextlib.contextmanager
def locked(paths: LocalPaths) -> Iterator[None]:
    """One `make up`/`make down` at a time per directory."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.lock_file, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpError(f"another make up/down is running on {paths.root}") from None
        yield
