"""What ECS would hand the container of one task: read back from moto, composed as ECS does.

The local runner must run a task exactly as the control plane asked for it, so nothing here is
invented: the environment is the task definition's `environment`, then its `secrets` resolved
from Secrets Manager (ECS does this at task start; an unreadable secret is ECS's
`ResourceInitializationError`, the task never starts), then the container overrides RunTask
recorded on the task. The command, the stop timeout and the awslogs group and stream come from
the same places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class CannotStart(RuntimeError):
    """The task cannot start (ECS would stop it with TaskFailedToStart); the message says why."""


@dataclass
class TaskSpec:
    """One task as the runner runs it."""

    task: dict[str, Any]  # DescribeTasks output (what ECS knows)
    container: str
    environment: dict[str, str]
    command: list[str]
    entry_point: list[str]
    stop_timeout: int
    log_group: str
    log_stream: str
    interactive: bool
    image: str = ""
    secret_names: list[str] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return str(self.task["taskArn"])

    @property
    def task_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def run_id(self) -> str:
        return str(self.task.get("startedBy") or "")


def _pairs(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {e["name"]: e["value"] for e in items or [] if "name" in e}


def resolve(
    task: dict[str, Any], definition: dict[str, Any], secrets: Any, default_stop: int = 30
) -> TaskSpec:
    """The TaskSpec of `task` (DescribeTasks) under `definition` (DescribeTaskDefinition).

    Raises CannotStart when ECS would refuse to start the container (a secret it cannot read).
    """
    containers = definition.get("containerDefinitions") or []
    essential = [c for c in containers if c.get("essential", True)] or containers
    if not essential:
        raise CannotStart("ResourceInitializationError: the task definition has no container")
    spec = essential[0]
    name = spec["name"]
    env = _pairs(spec.get("environment"))
    for secret in spec.get("secrets") or []:
        try:
            value = secrets.get_secret_value(SecretId=secret["valueFrom"])["SecretString"]
        except Exception as error:  # what ECS reports when it cannot pull a secret
            raise CannotStart(
                "ResourceInitializationError: unable to pull secrets or registry auth: "
                f"retrieving secret {secret['name']} failed ({type(error).__name__})"
            ) from None
        env[secret["name"]] = value
    command = list(spec.get("command") or [])
    for override in (task.get("overrides") or {}).get("containerOverrides") or []:
        if override.get("name") == name:
            env.update(_pairs(override.get("environment")))
            if override.get("command"):
                command = list(override["command"])
    options = (spec.get("logConfiguration") or {}).get("options") or {}
    group = options.get("awslogs-group")
    if not group:
        raise CannotStart("the container has no awslogs group: nowhere to send its output")
    prefix = options.get("awslogs-stream-prefix", "")
    task_id = str(task["taskArn"]).rsplit("/", 1)[-1]
    return TaskSpec(
        task=task,
        container=name,
        environment=env,
        command=command,
        entry_point=list(spec.get("entryPoint") or []),
        stop_timeout=int(spec.get("stopTimeout") or default_stop),
        log_group=group,
        # awslogs names streams prefix/container/task-id (chalice_api/chalicelib/cloud/logs.py).
        log_stream=f"{prefix}/{name}/{task_id}" if prefix else task_id,
        interactive=bool(task.get("enableExecuteCommand")),
        image=str(spec.get("image") or ""),
        secret_names=[s["name"] for s in spec.get("secrets") or []],
    )
