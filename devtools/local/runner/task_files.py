"""One task's directory on this machine: its volumes, and one private directory per container.

`.local/tasks/<task-id>/` holds

* `run_id` (what `python -m devtools.local.shell` looks for);
* one directory per task volume a container mounts (`workspace/`, `handoff/`): the task's
  shared volumes, as Fargate's bind-mount volumes; each container gets only the ones its
  `mountPoints` name, read-only where they say so;
* `run/<container>/`: that container's own directory - its environment file (image mode),
  the pid its shell writes, its HOME and, for the container that runs pi, pi's directory.
  It is mounted into that container alone. In image mode it belongs to the container's uid
  with mode 0700 and the environment file is 0600: the model proxy's key is readable by uid
  1001 only, in a directory no other container's mounts include - as ECS gives each
  container its own environment.

Nothing here starts a process; `container` does, from these paths.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from devtools.local.runner.pi_config import PI_SETTINGS, models_json
from devtools.local.runner.task_spec import ContainerSpec, TaskSpec
from stacks.shared.constants import AGENT_USER_UID

IMAGE_RUNTIME_DIR = "/run/cloudagent-local"  # a container's own directory, inside the image
IMAGE_REPO_MOUNT = "/run/cloudagent-repo"  # the task's local bare repository, read-only
DEFAULT_UID = AGENT_USER_UID  # the image's USER
ENV_FILE = "env.sh"
PID_FILE = "pid"  # image mode: the container's shell writes its pid here before exec
PROXY_PORT_VAR = "MODEL_PROXY_PORT"
PROXY_URL_VAR = "AGENT_MODEL_PROXY_URL"


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1 (the task's model proxy gets its own)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class TaskFiles:
    """Where one task's files are, in one mode ("image" or "host")."""

    root: Path
    mode: str
    proxy_port: int | None = None

    def volume(self, name: str) -> Path:
        return self.root / name

    def runtime(self, container: str) -> Path:
        return self.root / "run" / container

    def inside(self, container: str) -> str:
        """The container's own directory as the container sees it."""
        return IMAGE_RUNTIME_DIR if self.mode == "image" else str(self.runtime(container))

    def mounts(self, container: ContainerSpec, bare: Path | None) -> list[tuple[Path, str, bool]]:
        """(host path, container path, read-only) for each mount of `container` in image
        mode: its mountPoints' volumes, its own directory, and the local bare repository
        (read-only) when its environment names a repository to clone."""
        found = [(self.volume(m.volume), m.path, m.read_only) for m in container.mounts]
        found.append((self.runtime(container.name), IMAGE_RUNTIME_DIR, False))
        if bare is not None and "AGENT_REPO_URL" in container.environment:
            found.append((bare, IMAGE_REPO_MOUNT, True))
        return found

    def host_path(self, container: ContainerSpec, inside: str) -> str:
        """Host mode: a path under one of the container's mount points, on this machine."""
        for mount in container.mounts:
            if inside == mount.path or inside.startswith(mount.path.rstrip("/") + "/"):
                return str(self.volume(mount.volume)) + inside[len(mount.path.rstrip("/")) :]
        return inside

    def write_env_file(self, container: ContainerSpec, env: dict[str, str]) -> Path:
        """Image mode: the container's environment as a file its shell sources (never argv,
        which every process on the machine can read), 0600 and owned by the container's uid."""
        path = self.runtime(container.name) / ENV_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
        os.chmod(path, 0o600)
        _own(path, container)
        return path


def _own(path: Path, container: ContainerSpec) -> None:
    uid = container.uid if container.uid is not None else DEFAULT_UID
    gid = container.gid if container.gid is not None else uid
    os.chown(path, uid, gid)


def runs_pi(container: ContainerSpec) -> bool:
    """The container that runs pi (the agent): it names a provider and reads pi's directory."""
    return "AGENT_PROVIDER" in container.environment


def _pi_directory(directory: Path, container: ContainerSpec, model_url: str | None) -> None:
    """pi's settings and, with the fake model, its models.json for the run's model.

    Behind a model proxy only `api` and the model are written (the entrypoint adds the
    proxy's URL and the placeholder key); without one, the fake's URL and key variable too.
    """
    directory.mkdir(parents=True)
    (directory / "settings.json").write_text(json.dumps(PI_SETTINGS))
    provider = container.environment.get("AGENT_PROVIDER")
    model = container.environment.get("AGENT_MODEL")
    if model_url and provider and model:
        direct = None if PROXY_URL_VAR in container.environment else model_url
        (directory / "models.json").write_text(json.dumps(models_json(provider, model, direct)))


def prepare(root: Path, spec: TaskSpec, mode: str, model_url: str | None) -> TaskFiles:
    """Create the task's directory afresh: volumes, each container's own directory, pi's."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "run_id").write_text(spec.run_id)
    needs_port = any(PROXY_PORT_VAR in c.environment for c in spec.containers)
    files = TaskFiles(root=root, mode=mode, proxy_port=free_port() if needs_port else None)
    for volume in sorted({m.volume for c in spec.containers for m in c.mounts}):
        files.volume(volume).mkdir()
        if mode == "image":  # every container's uid may write a shared volume
            os.chmod(files.volume(volume), 0o777)
    for container in spec.containers:
        own = files.runtime(container.name)
        (own / "home").mkdir(parents=True)
        if runs_pi(container):
            _pi_directory(own / "pi-agent", container, model_url)
        if mode == "image" or _switches_user(spec, container):
            for path in [own, *own.rglob("*")]:
                _own(path, container)
            os.chmod(own, 0o700)
    return files


def _switches_user(spec: TaskSpec, container: ContainerSpec) -> bool:
    """Host mode: a container under another uid than the task's main one runs as that uid
    when the runner may switch (it is root) - the model proxy as 1001."""
    return (
        os.geteuid() == 0
        and container.uid is not None
        and container.uid != spec.main.uid
        and container is not spec.main
    )


def host_user(spec: TaskSpec, container: ContainerSpec) -> tuple[int, int] | None:
    """Host mode: (uid, gid) to switch to for `container`, or None to run as the runner."""
    if not _switches_user(spec, container):
        return None
    assert container.uid is not None
    return container.uid, container.gid if container.gid is not None else container.uid
