"""How one task's container runs on this machine: in the built image, or the entrypoint on host.

* **image** (`make image` built `localhost/cloudagent-agent:local` from today's `image/`: its
  inputs label matches): `buildah run --isolation chroot --network host` (vfs storage) in one
  working container the runner creates once, as uid 1000 in `/workspace`, with a per-task
  directory bind-mounted there - what Fargate runs, minus the network isolation (host network,
  so the fake model on 127.0.0.1 is reachable).
* **host** (otherwise - no buildah, no image, or an image older than `image/`; `make up` says
  which): `image/entrypoint` with the project's Node 24 and the locked pi
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
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.image.storage import BUILDAH, image_id
from devtools.local.runner.mode import IMAGE, WORKING_CONTAINER, remove_working_container
from devtools.local.runner.pi_config import PI_SETTINGS, local_repository, models_json
from devtools.local.runner.task_spec import TaskSpec
from devtools.pi_runtime import ENTRYPOINT, ensure_runtime

IMAGE_ENTRYPOINT = "/usr/local/bin/entrypoint"
IMAGE_WORKSPACE = "/workspace"
IMAGE_RUNTIME_DIR = "/run/cloudagent"  # the per-task pi dir and env file, inside the image
IMAGE_REPO_MOUNT = "/run/cloudagent-repo"  # the task's local bare repository, read-only
AGENT_UID = "1000:1000"


PID_FILE = "pid"  # image mode: the container's entrypoint writes its pid here before exec


@dataclass
class Launch:
    """The process of one task and the directory it works in."""

    process: subprocess.Popen
    workdir: Path
    mode: str

    def signal(self, signum: int, wait_seconds: float = 2.0) -> None:
        """Signal the container's entrypoint, as ECS signals a container's PID 1.

        On the host that is the process itself. `buildah run` forwards no signal: a SIGTERM
        to it kills the container's process outright and exits 1, so the entrypoint never
        writes its `runtime_end` nor exits 143. In image mode the entrypoint's pid comes from
        the file it wrote - and since the agent could write any number there, it is used only
        if that process descends from this launch's `buildah run`.
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
        """One working container for every task (a vfs copy of the image costs tens of s).

        Kept across `make up`s while it is a container of today's image; replaced otherwise.
        """
        inspected = subprocess.run(
            [*BUILDAH, "inspect", "--type", "container", WORKING_CONTAINER],
            capture_output=True,
            text=True,
        )
        if inspected.returncode == 0:
            if json.loads(inspected.stdout).get("FromImageID") == image_id(IMAGE):
                return
            remove_working_container()
        subprocess.run(
            [*BUILDAH, "from", "--pull-never", "--name", WORKING_CONTAINER, IMAGE],
            check=True,
            capture_output=True,
        )

    def environment(self, spec: TaskSpec, task_dir: Path, bare: Path | None) -> dict[str, str]:
        """ECS's environment for the task plus this machine's (HOME, PATH, pi's directory);
        `bare` is the local repository the task's AGENT_REPO_URL maps to, if any."""
        env = dict(spec.environment)
        inside = IMAGE_RUNTIME_DIR if self.mode == "image" else str(task_dir)
        env["PI_CODING_AGENT_DIR"] = f"{inside}/pi-agent"
        env["HOME"] = f"{inside}/home"
        if self.mode == "host":
            env.update(PATH=self._path, LANG="C.UTF-8")
        if bare is not None:  # in image mode the bare repository is mounted read-only
            env["AGENT_REPO_URL"] = (
                f"file://{IMAGE_REPO_MOUNT}" if self.mode == "image" else bare.as_uri()
            )
            env["AGENT_ALLOW_LOCAL_REPOS"] = "1"
        return env

    def _local_repository(self, spec: TaskSpec) -> Path | None:
        """The bare repository under `repos/` that the task's AGENT_REPO_URL maps to, if any."""
        repo = spec.environment.get("AGENT_REPO_URL")
        return local_repository(repo, self.repos_dir) if repo else None

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
        bare = self._local_repository(spec)
        env = self.environment(spec, task_dir, bare)
        if bare is not None:
            self._own_repository(bare)
        (task_dir / "run_id").write_text(spec.run_id)
        if self.mode == "image":
            argv = self._image_argv(spec, task_dir, env, bare)
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

    def _own_repository(self, bare: Path) -> None:
        """The bare repository's directory belongs to the uid that clones it.

        git refuses a repository another user owns ("dubious ownership"), and the entrypoint
        runs git without any global config, so `safe.directory` cannot help: in image mode the
        agent (uid 1000) reads it, on the host this process's user. Only the top directory
        is git's test; the objects stay as they are (read-only to the agent in image mode).
        """
        uid, gid = (
            map(int, AGENT_UID.split(":")) if self.mode == "image" else (os.geteuid(), os.getegid())
        )
        with contextlib.suppress(OSError):
            os.chown(bare, uid, gid)

    def _image_argv(
        self, spec: TaskSpec, task_dir: Path, env: dict[str, str], bare: Path | None
    ) -> list[str]:
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
        if bare is not None:
            mounts += ["-v", f"{bare}:{IMAGE_REPO_MOUNT}:ro"]
        entry = spec.entry_point or [IMAGE_ENTRYPOINT]
        runtime = IMAGE_RUNTIME_DIR
        script = f'. {runtime}/env.sh && echo $$ > {runtime}/{PID_FILE} && exec "$@"'
        return [
            *BUILDAH,
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
