"""What ECS would hand each container of one task: read back from moto, composed as ECS does.

The local runner must run a task exactly as the control plane asked for it, so nothing here is
invented. For every container of the task definition: its `environment`, then its `secrets`
resolved from Secrets Manager (ECS does this at task start, per container; an unreadable
secret is ECS's `ResourceInitializationError`, the task never starts), then the container
override RunTask recorded for that container's name. The user, entry point, command, working
directory, mount points, stop timeout, `dependsOn` and the awslogs group and stream come from
the same places. Containers are ordered so each comes after the ones it depends on (ECS
refuses a definition with a cycle or an unknown name at registration; here it cannot start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# dependsOn conditions (API reference, ContainerDependency).
START, COMPLETE, SUCCESS, HEALTHY = "START", "COMPLETE", "SUCCESS", "HEALTHY"


class CannotStart(RuntimeError):
    """The task cannot start (ECS would stop it with TaskFailedToStart); the message says why."""


@dataclass(frozen=True)
class Mount:
    """One mountPoints entry: a task volume at a path in the container."""

    volume: str
    path: str
    read_only: bool


@dataclass
class ContainerSpec:
    """One container of a task as the runner runs it."""

    name: str
    essential: bool
    environment: dict[str, str]
    command: list[str]
    entry_point: list[str]
    user: str
    working_directory: str
    mounts: list[Mount]
    depends_on: list[tuple[str, str]]  # (container name, condition)
    stop_timeout: int
    log_group: str
    log_stream: str
    image: str = ""
    secret_names: list[str] = field(default_factory=list)

    @property
    def uid(self) -> int | None:
        """The numeric uid of `user` ("1000", "1000:1000"); None when unset or a name."""
        head = self.user.split(":", 1)[0]
        return int(head) if head.isdigit() else None

    @property
    def gid(self) -> int | None:
        parts = self.user.split(":", 1)
        return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else self.uid


@dataclass
class TaskSpec:
    """One task as the runner runs it: its containers in start order."""

    task: dict[str, Any]  # DescribeTasks output (what ECS knows)
    containers: list[ContainerSpec]
    interactive: bool

    @property
    def arn(self) -> str:
        return str(self.task["taskArn"])

    @property
    def task_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def run_id(self) -> str:
        return str(self.task.get("startedBy") or "")

    @property
    def main(self) -> ContainerSpec:
        """The essential container nothing depends on (the agent): its exit is the task's."""
        needed = {name for c in self.containers for name, _ in c.depends_on}
        essential = [c for c in self.containers if c.essential] or self.containers
        return next((c for c in reversed(essential) if c.name not in needed), essential[-1])

    @property
    def container(self) -> str:
        return self.main.name

    def get(self, name: str) -> ContainerSpec:
        return next(c for c in self.containers if c.name == name)


def _pairs(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {e["name"]: e["value"] for e in items or [] if "name" in e}


def _secrets(definition: dict[str, Any], secrets: Any) -> dict[str, str]:
    """One container's `secrets`, read as ECS reads them at task start."""
    env: dict[str, str] = {}
    for secret in definition.get("secrets") or []:
        try:
            value = secrets.get_secret_value(SecretId=secret["valueFrom"])["SecretString"]
        except Exception as error:  # what ECS reports when it cannot pull a secret
            raise CannotStart(
                "ResourceInitializationError: unable to pull secrets or registry auth: "
                f"retrieving secret {secret['name']} of container {definition['name']} failed "
                f"({type(error).__name__})"
            ) from None
        env[secret["name"]] = value
    return env


def _container(
    definition: dict[str, Any], overrides: dict[str, dict], secrets: Any, task_id: str, stop: int
) -> ContainerSpec:
    name = definition["name"]
    env = _pairs(definition.get("environment"))
    env.update(_secrets(definition, secrets))
    command = list(definition.get("command") or [])
    override = overrides.get(name) or {}
    env.update(_pairs(override.get("environment")))
    if override.get("command"):
        command = list(override["command"])
    options = (definition.get("logConfiguration") or {}).get("options") or {}
    group = options.get("awslogs-group")
    if not group:
        raise CannotStart(f"container {name} has no awslogs group: nowhere to send its output")
    prefix = options.get("awslogs-stream-prefix", "")
    return ContainerSpec(
        name=name,
        essential=bool(definition.get("essential", True)),
        environment=env,
        command=command,
        entry_point=list(definition.get("entryPoint") or []),
        user=str(definition.get("user") or ""),
        working_directory=str(definition.get("workingDirectory") or ""),
        mounts=[
            Mount(m["sourceVolume"], m["containerPath"], bool(m.get("readOnly", False)))
            for m in definition.get("mountPoints") or []
        ],
        depends_on=[
            (d["containerName"], d["condition"]) for d in definition.get("dependsOn") or []
        ],
        stop_timeout=int(definition.get("stopTimeout") or stop),
        log_group=group,
        # awslogs names streams prefix/container/task-id (chalice_api/chalicelib/cloud/logs.py).
        log_stream=f"{prefix}/{name}/{task_id}" if prefix else task_id,
        image=str(definition.get("image") or ""),
        secret_names=[s["name"] for s in definition.get("secrets") or []],
    )


def start_order(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The containers with each after every container it depends on (definition order kept
    otherwise). Raises CannotStart for an unknown name, a cycle or a HEALTHY condition (the
    runner plays no health checks)."""
    by_name = {d["name"]: d for d in definitions}
    ordered: list[dict[str, Any]] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if any(d["name"] == name for d in ordered):
            return
        if name in visiting:
            raise CannotStart(f"dependsOn has a cycle through container {name}")
        visiting.add(name)
        for dep in by_name[name].get("dependsOn") or []:
            target, condition = dep.get("containerName"), dep.get("condition")
            if target not in by_name:
                raise CannotStart(f"container {name} depends on unknown container {target}")
            if condition not in (START, COMPLETE, SUCCESS):
                raise CannotStart(
                    f"container {name}: dependsOn condition {condition} is not played by the "
                    "local runner (it runs no health checks)"
                )
            visit(target)
        visiting.discard(name)
        ordered.append(by_name[name])

    for definition in definitions:
        visit(definition["name"])
    return ordered


def resolve(
    task: dict[str, Any], definition: dict[str, Any], secrets: Any, default_stop: int = 30
) -> TaskSpec:
    """The TaskSpec of `task` (DescribeTasks) under `definition` (DescribeTaskDefinition).

    Raises CannotStart when ECS would refuse to start the task (a secret it cannot read).
    """
    definitions = definition.get("containerDefinitions") or []
    if not definitions:
        raise CannotStart("ResourceInitializationError: the task definition has no container")
    overrides = {
        o["name"]: o
        for o in (task.get("overrides") or {}).get("containerOverrides") or []
        if o.get("name")
    }
    task_id = str(task["taskArn"]).rsplit("/", 1)[-1]
    containers = [
        _container(d, overrides, secrets, task_id, default_stop) for d in start_order(definitions)
    ]
    return TaskSpec(
        task=task, containers=containers, interactive=bool(task.get("enableExecuteCommand"))
    )
