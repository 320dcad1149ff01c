"""`make up`'s embedded AWS: the moto server of the last `make up`, or a new one, configured.

The server process itself is `devtools.moto_server`'s; this module finds a running one by its
pid file, starts one when there is none, and sets how moto moves resources between states.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from devtools import moto_server
from devtools.local import processes
from devtools.local.paths import LocalPaths, shown
from devtools.local.session import MOTO_MARKER, UpError


def _moto_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
            return True
    except OSError:
        return False


# How the embedded AWS moves resources between states (moto's state manager):
# * a CloudFront distribution is Deployed at once - waiting for moto's "InProgress" to pass
#   cost about 30 s on apply and as much again on destroy, and proves nothing;
# * an ECS task stays where RunTask put it until StopTask: moto runs no container; the local
#   task runner (devtools.local.runner) runs it and reports its end as ECS would.
MOTO_TRANSITIONS = {
    "cloudfront::distribution": {"progression": "immediate"},
    "ecs::task": {"progression": "manual", "times": 10**9},
}


def configure_moto(url: str) -> None:
    """Apply MOTO_TRANSITIONS (idempotent, so a reused server gets them too)."""
    for model, transition in MOTO_TRANSITIONS.items():
        request = urllib.request.Request(
            f"{url}/moto-api/state-manager/set-transition",
            data=json.dumps({"model_name": model, "transition": transition}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):
            pass


def ensure_moto(paths: LocalPaths, state: dict[str, Any], out: Callable[[str], None]) -> tuple:
    """(MotoServer, started?) - the running one of the last `make up`, or a new one."""
    pid = processes.read_pid(paths.pid_file("moto"))
    port = state.get("moto_port")
    if port and processes.alive(pid, MOTO_MARKER) and _moto_answers(f"http://127.0.0.1:{port}"):
        out(f"moto server: already running at http://127.0.0.1:{port} (pid {pid})")
        # Attached, not owned: this process never stops it; `make down` does, by pid.
        return moto_server.MotoServer(port=port, process=None), False  # type: ignore[arg-type]
    if pid and processes.alive(pid, MOTO_MARKER):
        processes.stop(pid, MOTO_MARKER)
    wanted = int(os.environ.get("CLOUDAGENT_MOTO_PORT") or 0)
    if wanted and not processes.port_free(wanted):
        raise UpError(f"CLOUDAGENT_MOTO_PORT={wanted} is in use; pick another or unset it")
    started = time.monotonic()
    server = moto_server.start(port=wanted or None, log_file=paths.log_file("moto"))
    processes.write_pid(paths.pid_file("moto"), server.process.pid)
    out(
        f"moto server: started at {server.url} (pid {server.process.pid}, "
        f"log {shown(paths.log_file('moto'))}) in {time.monotonic() - started:.1f}s"
    )
    return server, True
