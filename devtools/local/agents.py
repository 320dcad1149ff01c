"""`make up`'s agent half: the local task runner, the models it uses, the repositories it maps.

* the runner process (`devtools.local.runner`) is started once and reused by a second
  `make up` while its wiring (moto URL, mode, models) is unchanged;
* with the fake model (default), every provider gets a dummy key through the deployed admin
  function (`set_provider_key`), so the API's own checks of provider keys behave as on AWS;
  with `CLOUDAGENT_LOCAL_MODELS=real`, nothing is set: the keys are the ones the user set the
  same way;
* every repository a run may name (`ALLOWED_REPOS` of the deployed API) is mapped to a bare
  repository under `.local/repos/OWNER/NAME.git`; one missing is created as a bare clone of
  this checkout (its committed HEAD), so a run with `"repo": "<github_repo>"` works on this
  project offline. Replace it with any bare repository to work on something else.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.local import processes
from devtools.local.lambdas import Aws, invoke
from devtools.local.paths import LocalPaths
from devtools.local.runner.loop import MARKER
from devtools.local.runner.mode import image_choice
from devtools.local.session import UpError
from devtools.moto_server import free_port
from stacks.shared.constants import PROVIDERS
from toolchain.paths import PROJECT_ROOT

MODELS_VARIABLE = "CLOUDAGENT_LOCAL_MODELS"
DUMMY_KEY = "local-fake-model-key"


@dataclass
class RunnerInfo:
    pid: int
    started: bool
    mode: str
    models: str
    model_url: str | None
    why: str = ""  # why this mode (the image is current, or what is missing)


def models_choice() -> str:
    value = (os.environ.get(MODELS_VARIABLE) or "fake").strip().lower()
    if value not in ("fake", "real"):
        raise UpError(f"{MODELS_VARIABLE} must be fake or real, got {value!r}")
    return value


def ensure_runner(paths: LocalPaths, state: dict[str, Any], aws: Aws) -> RunnerInfo:
    """The runner of this `.local/`, started if needed; returns what it runs with."""
    models = models_choice()
    mode, why = image_choice()
    port = state.get("model_port") or free_port()
    wiring = {"moto": aws.url, "region": aws.region, "mode": mode, "models": models, "port": port}
    digest = hashlib.sha256(json.dumps(wiring, sort_keys=True).encode()).hexdigest()
    pid = processes.read_pid(paths.pid_file("runner"))
    model_url = f"http://127.0.0.1:{port}/v1" if models == "fake" else None
    if processes.alive(pid, MARKER):
        if state.get("runner_sha256") == digest:
            return RunnerInfo(pid, False, mode, models, model_url, why)  # type: ignore[arg-type]
        processes.stop(pid, MARKER, timeout=140)
    if models == "fake" and not processes.port_free(port):
        port = free_port()
        model_url = f"http://127.0.0.1:{port}/v1"
    if mode == "host":  # install Node 24 + pi now (minutes, once), not in the first run
        from devtools.pi_runtime import ensure_runtime

        ensure_runtime()
    process = processes.spawn(
        MARKER,
        [
            f"--local-dir={paths.root}",
            f"--moto-url={aws.url}",
            f"--region={aws.region}",
            f"--mode={mode}",
            f"--models={models}",
            f"--model-port={port}",
        ],
        log_path=paths.log_file("runner"),
        pid_path=paths.pid_file("runner"),
    )
    deadline = time.monotonic() + 60
    while "runner: mode" not in paths.log_file("runner").read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            processes.stop(process.pid, MARKER)
            tail = paths.log_file("runner").read_text(errors="replace")[-3000:]
            raise UpError(f"the local task runner did not come up:\n{tail}")
        time.sleep(0.1)
    state.update(runner_sha256=digest, model_port=port)
    return RunnerInfo(process.pid, True, mode, models, model_url, why)


def set_dummy_keys(aws: Aws, admin_function: str) -> None:
    """Every provider gets a dummy key through the deployed admin function (fake model only)."""
    for provider in PROVIDERS:
        result = invoke(
            aws,
            admin_function,
            {"action": "set_provider_key", "provider": provider, "value": DUMMY_KEY},
        )
        if not result.get("ok"):
            raise UpError(f"set_provider_key {provider} failed: {result}")


def prepare_repositories(paths: LocalPaths, allowed: str, out: Callable[[str], None]) -> None:
    """A bare repository for each allowed OWNER/NAME that has none yet (this checkout's HEAD)."""
    for name in [r.strip() for r in allowed.split(",") if r.strip()]:
        owner, _, repo = name.partition("/")
        target = paths.root / "repos" / owner / f"{repo}.git"
        if (target / "HEAD").exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "clone", "--quiet", "--bare", str(PROJECT_ROOT), str(target)],
            check=True,
            capture_output=True,
        )
        out(f"repository {name}: {target} (a bare clone of this checkout's HEAD)")
