"""How one container of a task runs on this machine: in the built image, or on the host.

* **image** (`make image` built `localhost/cloudagent-agent:local` from today's `image/`: its
  inputs label matches): `buildah run --isolation chroot --network host` (vfs storage) in one
  working container the runner creates once, as the container's `user`, with only the
  directories its `mountPoints` name plus its own directory (`task_files`) mounted. Each
  container is its own `buildah run`, so the model proxy (uid 1001) and the agent (uid 1000)
  are separate processes under separate uids: the agent cannot read the proxy's environment
  (/proc/<pid>/environ is its owner's), and the proxy's environment file is in a directory
  only the proxy's run mounts. What Fargate runs, minus the network isolation (host network,
  so the fake model and the task's proxy on 127.0.0.1 are reachable) and minus a process
  namespace of its own (buildah's chroot isolation shares the host's).
* **host** (otherwise - no buildah, no image, or an image older than `image/`; `make up` says
  which): the image's programs (`image/<program>`: the entrypoint, the model proxy, repo-init)
  with the project's Node 24 and the locked pi (`devtools.pi_runtime`), in the task's
  directory. A root runner starts a container under another uid than the agent's (the model
  proxy) as that uid; the agent itself runs as the runner, so on the host it is NOT isolated
  from the proxy - the isolation holds in image mode.

Either way the process gets the environment ECS composed (`task_spec`), plus what only this
machine needs: HOME, PATH, the task's own model-proxy port (Fargate's is fixed; here tasks share
the host network), the fake model as the proxy's upstream, and a repository URL the API made
(`https://github.com/OWNER/NAME.git`) mapped to a bare repository `.local/repos/OWNER/NAME.git`
with `AGENT_ALLOW_LOCAL_REPOS=1` - set by the runner alone, never by the stacks.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from devtools.image.storage import BUILDAH, image_id
from devtools.local.runner import task_files
from devtools.local.runner.launch import Launch
from devtools.local.runner.mode import IMAGE, remove_working_container, working_container_for
from devtools.local.runner.pi_config import local_repository
from devtools.local.runner.task_files import (
    IMAGE_REPO_MOUNT,
    PID_FILE,
    PROXY_PORT_VAR,
    PROXY_URL_VAR,
    TaskFiles,
    host_user,
    runs_pi,
)
from devtools.local.runner.task_spec import ContainerSpec, TaskSpec
from devtools.pi_runtime import ENTRYPOINT, Runtime, ensure_runtime
from devtools.pi_runtime import IMAGE as IMAGE_SOURCE

IMAGE_ENTRYPOINT = "/usr/local/bin/entrypoint"
IMAGE_WORKSPACE = "/workspace"
IMAGE_BIN = "/usr/local/bin/"
AGENT_UID = f"{task_files.DEFAULT_UID}:{task_files.DEFAULT_UID}"  # uid:gid, as buildah takes it
# Loaded here, not in the child: after the switch of uid the child may not read what an
# import needs (the task's directory is the runner's).
_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def with_port(url: str, port: int) -> str:
    """`url` with its port replaced (the agent's AGENT_MODEL_PROXY_URL -> this task's proxy)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname or '127.0.0.1'}:{port}"))


class Launcher:
    """Starts the containers of tasks in one mode ("image" or "host")."""

    def __init__(
        self,
        tasks_dir: Path,
        repos_dir: Path,
        model_url: str | None,
        mode: str,
        *,
        runtime: Runtime | None = None,
        working_container: str | None = None,
    ):
        self.tasks_dir = tasks_dir
        self.repos_dir = repos_dir
        self.model_url = model_url  # None: real providers
        self.mode = mode
        # `make up`'s own (tasks live in `<.local>/tasks`): `make down` of another
        # deployment on this machine must not remove it under this one's tasks.
        self.working_container = working_container or working_container_for(tasks_dir.parent)
        self._runtime = runtime or (None if mode == "image" else ensure_runtime())
        if mode == "image":
            self._working_container()

    def _working_container(self) -> None:
        """One working container for every task (a vfs copy of the image costs tens of s).

        Kept across `make up`s while it is a container of today's image; replaced otherwise.
        """
        inspected = subprocess.run(
            [*BUILDAH, "inspect", "--type", "container", self.working_container],
            capture_output=True,
            text=True,
        )
        if inspected.returncode == 0:
            if json.loads(inspected.stdout).get("FromImageID") == image_id(IMAGE):
                return
            remove_working_container(self.working_container)
        subprocess.run(
            [*BUILDAH, "from", "--pull-never", "--name", self.working_container, IMAGE],
            check=True,
            capture_output=True,
        )

    def prepare(self, spec: TaskSpec) -> tuple[TaskFiles, Path | None]:
        """The task's directory, and the local bare repository its AGENT_REPO_URL maps to."""
        files = task_files.prepare(self.tasks_dir / spec.task_id, spec, self.mode, self.model_url)
        urls = {
            c.environment["AGENT_REPO_URL"]
            for c in spec.containers
            if "AGENT_REPO_URL" in c.environment
        }
        bare = local_repository(sorted(urls)[0], self.repos_dir) if urls else None
        if bare is not None:
            self._own_repository(bare)
        return files, bare

    def environment(
        self, spec: TaskSpec, container: ContainerSpec, files: TaskFiles, bare: Path | None
    ) -> dict[str, str]:
        """ECS's environment for `container` plus this machine's (see the module's doc)."""
        env = dict(container.environment)
        inside = files.inside(container.name)
        env["HOME"] = f"{inside}/home"
        if runs_pi(container):
            env["PI_CODING_AGENT_DIR"] = f"{inside}/pi-agent"
        if self.mode == "host":
            assert self._runtime is not None
            # Directories the task definition names (AGENT_HANDOFF_DIR) are its volumes here.
            env = {
                k: files.host_path(container, v) if k.endswith("_DIR") else v
                for k, v in env.items()
            }
            env.update(PATH=self._runtime.path, LANG="C.UTF-8")
            env["NODE_PATH"] = str(self._runtime.pi_bin.parent)  # the locked pi's modules
        if files.proxy_port is not None and PROXY_PORT_VAR in env:
            env[PROXY_PORT_VAR] = str(files.proxy_port)
            if self.model_url:
                env["MODEL_PROXY_UPSTREAM"] = self.model_url
                env["MODEL_PROXY_ALLOW_LOCAL_UPSTREAM"] = "1"
        if files.proxy_port is not None and PROXY_URL_VAR in env:
            env[PROXY_URL_VAR] = with_port(env[PROXY_URL_VAR], files.proxy_port)
        if bare is not None and "AGENT_REPO_URL" in env:  # mounted read-only in image mode
            env["AGENT_REPO_URL"] = (
                f"file://{IMAGE_REPO_MOUNT}" if self.mode == "image" else bare.as_uri()
            )
            env["AGENT_ALLOW_LOCAL_REPOS"] = "1"
        return env

    def start(
        self,
        spec: TaskSpec,
        container: ContainerSpec,
        files: TaskFiles,
        bare: Path | None,
        log,
    ) -> Launch:
        """Start one container; stdout is a pipe, stderr goes to `log`."""
        env = self.environment(spec, container, files, bare)
        own = files.runtime(container.name)
        user = None
        if self.mode == "image":
            files.write_env_file(container, env)
            argv = image_argv(container, files, bare, self.working_container)
            process_env, cwd = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, files.root
        else:
            argv = [*self._host_entry(container), *container.command]
            process_env = env
            workdir = container.working_directory
            cwd = Path(files.host_path(container, workdir)) if workdir else own
            user = host_user(spec, container)
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # signals go to the container, not to the runner
            user=user[0] if user else None,
            group=user[1] if user else None,
            extra_groups=[] if user else None,
            preexec_fn=_die_with_parent,  # after the switch of uid, which would clear it
        )
        return Launch(process=process, workdir=own, mode=self.mode)

    @staticmethod
    def _host_entry(container: ContainerSpec) -> list[str]:
        """The image's programs map to `image/` here (`/usr/local/bin/<name>` -> `image/<name>`)."""
        entry = container.entry_point or [str(ENTRYPOINT)]
        if entry[0] == IMAGE_ENTRYPOINT:
            return [str(ENTRYPOINT), *entry[1:]]
        if entry[0].startswith(IMAGE_BIN) and (IMAGE_SOURCE / entry[0][len(IMAGE_BIN) :]).exists():
            return [str(IMAGE_SOURCE / entry[0][len(IMAGE_BIN) :]), *entry[1:]]
        return entry

    def _own_repository(self, bare: Path) -> None:
        """The bare repository's directory belongs to the uid that clones it.

        git refuses a repository another user owns ("dubious ownership"), and the clone runs
        git without any global config, so `safe.directory` cannot help: in image mode uid
        1000 reads it, on the host this process's user. Only the top directory is git's
        test; the objects stay as they are (read-only to the container in image mode).
        """
        uid, gid = (
            map(int, AGENT_UID.split(":")) if self.mode == "image" else (os.geteuid(), os.getegid())
        )
        with contextlib.suppress(OSError):
            os.chown(bare, uid, gid)


def image_argv(
    container: ContainerSpec, files: TaskFiles, bare: Path | None, working_container: str
) -> list[str]:
    """`buildah run` of one container: its uid, its mounts, its environment from its own
    0600 file (not argv)."""
    inside = task_files.IMAGE_RUNTIME_DIR
    mounts: list[str] = []
    for host, path, read_only in files.mounts(container, bare):
        mounts += ["-v", f"{host}:{path}{':ro' if read_only else ''}"]
    user = f"{container.uid}:{container.gid}" if container.uid is not None else AGENT_UID
    entry = container.entry_point or [IMAGE_ENTRYPOINT]
    script = f'. {inside}/{task_files.ENV_FILE} && echo $$ > {inside}/{PID_FILE} && exec "$@"'
    return [
        *BUILDAH,
        "run",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--user",
        user,
        "--workingdir",
        container.working_directory or inside,
        *mounts,
        working_container,
        "--",
        "/bin/sh",
        "-c",
        script,
        container.name,
        *entry,
        *container.command,
    ]


def _die_with_parent() -> None:
    """The container gets SIGTERM if the runner dies: no agent outlives it unwatched.

    (Its run then stays RUNNING on moto until the reaper stops and reconciles it, as a run
    whose host vanished would in AWS.)
    """
    _LIBC.prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM
