"""How one task's container runs on this machine: in the built image, or the entrypoint on host.

* **image** (`localhost/cloudagent-agent:local` exists in buildah's storage, built by
  `make image`): `buildah run --isolation chroot --network host` in one working container the
  runner creates once, as uid 1000 in `/workspace`, with a per-task directory bind-mounted
  there - what Fargate runs, minus the network isolation (host network, so the fake model on
  127.0.0.1 is reachable).
* **host** (otherwise): `image/entrypoint` with the project's Node 24 and the locked pi
  (`devtools.pi_runtime`, the same versions the image pins), in a per-task directory.

Either way the process gets the environment ECS composed (`task_spec`), plus what only this
machine needs: HOME, PATH, and - with the fake model - a pi `models.json` that sends the run's
provider and model to it. A repository URL the API made (`https://github.com/OWNER/NAME.git`)
is mapped to a bare repository `.local/repos/OWNER/NAME.git` when one exists there, with
`AGENT_ALLOW_LOCAL_REPOS=1` set by the runner alone (never by the stacks).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devtools.local.task_spec import TaskSpec
from devtools.pi_runtime import ENTRYPOINT, ensure_runtime

IMAGE = "localhost/cloudagent-agent:local"
WORKING_CONTAINER = "cloudagent-local-runner"
IMAGE_ENTRYPOINT = "/usr/local/bin/entrypoint"
IMAGE_WORKSPACE = "/workspace"
IMAGE_RUNTIME_DIR = "/run/cloudagent"  # the per-task pi dir and env file, inside the image
AGENT_UID = "1000:1000"
GITHUB_REPO = re.compile(r"^https://github\.com/([A-Za-z0-9._-]+)/([A-Za-z0-9._-]+?)(?:\.git)?$")
# Provider id -> the environment variable pi reads its key from (image/entrypoint).
PROVIDER_KEYS = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "google": "GEMINI_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}


def image_available() -> bool:
    """`make image` has built the agent image (buildah knows it)."""
    if not shutil.which("buildah"):
        return False
    probe = subprocess.run(
        ["buildah", "inspect", "--type", "image", IMAGE], capture_output=True, timeout=60
    )
    return probe.returncode == 0


def models_json(provider: str, model: str, base_url: str) -> dict:
    """pi's models.json that sends `provider`/`model` to the fake (OpenAI Responses) server.

    A custom model with a built-in id replaces it, so any provider/model pair works; the key
    is read from the provider's usual variable (the dummy one `make up` set).
    """
    return {
        "providers": {
            provider: {
                "baseUrl": base_url,
                "api": "openai-responses",
                "apiKey": PROVIDER_KEYS.get(provider, "OPENAI_API_KEY"),
                "models": [{"id": model, "api": "openai-responses"}],
            }
        }
    }


# pi's defaults wait 10 minutes on a hung model and retry; a local fake answers at once.
PI_SETTINGS = {"retry": {"enabled": False, "provider": {"timeoutMs": 30000, "maxRetries": 0}}}


def map_repository(url: str, repos_dir: Path) -> str | None:
    """`https://github.com/O/N.git` -> `file://<repos_dir>/O/N.git` when that bare repo exists."""
    found = GITHUB_REPO.match(url.strip())
    if not found:
        return None
    local = repos_dir / found.group(1) / f"{found.group(2)}.git"
    return local.resolve().as_uri() if (local / "HEAD").exists() else None


@dataclass
class Launch:
    """The process of one task and the directory it works in."""

    process: subprocess.Popen
    workdir: Path
    mode: str


class Launcher:
    """Starts task containers in one mode ("image" or "host")."""

    def __init__(self, tasks_dir: Path, repos_dir: Path, model_url: str | None, mode: str):
        self.tasks_dir = tasks_dir
        self.repos_dir = repos_dir
        self.model_url = model_url  # None: real providers
        self.mode = mode
        self._path = "" if mode == "image" else ensure_runtime().path
        if mode == "image":
            self._working_container()

    def _working_container(self) -> None:
        """One working container for every task (a vfs copy of the image costs tens of s)."""
        exists = subprocess.run(
            ["buildah", "inspect", "--type", "container", WORKING_CONTAINER], capture_output=True
        )
        if exists.returncode != 0:
            subprocess.run(
                ["buildah", "from", "--name", WORKING_CONTAINER, IMAGE],
                check=True,
                capture_output=True,
            )

    def environment(self, spec: TaskSpec, task_dir: Path) -> dict[str, str]:
        """ECS's environment for the task plus this machine's (HOME, PATH, pi's directory)."""
        env = dict(spec.environment)
        inside = IMAGE_RUNTIME_DIR if self.mode == "image" else str(task_dir)
        env["PI_CODING_AGENT_DIR"] = f"{inside}/pi-agent"
        env["HOME"] = f"{inside}/home"
        if self.mode == "host":
            env.update(PATH=self._path, LANG="C.UTF-8")
        repo = env.get("AGENT_REPO_URL")
        mapped = map_repository(repo, self.repos_dir) if repo else None
        if mapped:
            if self.mode == "image":  # the bare repository is mounted read-only
                mapped = "file:///run/cloudagent-repo"
            env["AGENT_REPO_URL"] = mapped
            env["AGENT_ALLOW_LOCAL_REPOS"] = "1"
        return env

    def _prepare(self, spec: TaskSpec) -> Path:
        task_dir = self.tasks_dir / spec.task_id
        shutil.rmtree(task_dir, ignore_errors=True)
        for sub in ("workspace", "home", "pi-agent"):
            (task_dir / sub).mkdir(parents=True)
        provider = spec.environment.get("AGENT_PROVIDER")
        model = spec.environment.get("AGENT_MODEL")
        agent_dir = task_dir / "pi-agent"
        (agent_dir / "settings.json").write_text(json.dumps(PI_SETTINGS))
        if self.model_url and provider and model:
            (agent_dir / "models.json").write_text(
                json.dumps(models_json(provider, model, self.model_url))
            )
        if self.mode == "image":  # uid 1000 inside must write there
            for path in [task_dir, *task_dir.rglob("*")]:
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o777 if path.is_dir() else 0o666)
        return task_dir

    def start(self, spec: TaskSpec, log) -> Launch:
        """Start the task's container; stdout is a pipe, stderr goes to `log`."""
        task_dir = self._prepare(spec)
        env = self.environment(spec, task_dir)
        (task_dir / "run_id").write_text(spec.run_id)
        if self.mode == "image":
            argv = self._image_argv(spec, task_dir, env)
            process_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            cwd = task_dir
        else:
            entry = spec.entry_point or [str(ENTRYPOINT)]
            if entry == [IMAGE_ENTRYPOINT]:
                entry = [str(ENTRYPOINT)]
            argv, process_env, cwd = [*entry, *spec.command], env, task_dir / "workspace"
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # signals go to the container, not to the runner
            preexec_fn=_die_with_parent,
        )
        return Launch(process=process, workdir=task_dir, mode=self.mode)

    def _image_argv(self, spec: TaskSpec, task_dir: Path, env: dict[str, str]) -> list[str]:
        """`buildah run` of the entrypoint; the environment goes in a 0600 file, not argv."""
        env_file = task_dir / "env.sh"
        env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
        env_file.chmod(0o644)  # read by uid 1000 inside; the directory is the runner's own
        mounts = [
            "-v",
            f"{task_dir / 'workspace'}:{IMAGE_WORKSPACE}",
            "-v",
            f"{task_dir}:{IMAGE_RUNTIME_DIR}",
        ]
        repo = spec.environment.get("AGENT_REPO_URL")
        mapped = map_repository(repo, self.repos_dir) if repo else None
        if mapped:
            mounts += ["-v", f"{mapped.removeprefix('file://')}:/run/cloudagent-repo:ro"]
        entry = spec.entry_point or [IMAGE_ENTRYPOINT]
        script = f'. {IMAGE_RUNTIME_DIR}/env.sh && exec "$@"'
        return [
            "buildah",
            "run",
            "--isolation",
            "chroot",
            "--network",
            "host",
            "--user",
            AGENT_UID,
            "--workingdir",
            IMAGE_WORKSPACE,
            *mounts,
            WORKING_CONTAINER,
            "--",
            "/bin/sh",
            "-c",
            script,
            "entrypoint",
            *entry,
            *spec.command,
        ]


def _die_with_parent() -> None:
    """The container gets SIGTERM if the runner dies: no agent outlives it unwatched.

    (Its run then stays RUNNING on moto until the reaper stops and reconciles it, as a run
    whose host vanished would in AWS.)
    """
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM


def remove_working_container() -> None:
    """`make down`: the runner's working container goes with everything else."""
    if shutil.which("buildah"):
        subprocess.run(["buildah", "rm", WORKING_CONTAINER], capture_output=True)
