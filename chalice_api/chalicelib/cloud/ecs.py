"""ECS calls: start an agent task, stop it, and list this cluster's running tasks.

An agent task has up to three containers (docs/ARCHITECTURE.md §4): the agent, the model proxy
(the only one holding the provider key) and, in the families for runs with a repository, the
clone container (the only one holding the repository token). RunTask gives each its own
environment overrides; ECS's 8 KiB limit counts them all together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..core import aws
from ..core.config import ApiConfig
from ..core.errors import PayloadTooLarge

STOP_REASON_MAX = 255
# ECS refuses a RunTask whose overrides exceed 8192 characters, JSON punctuation included.
ECS_OVERRIDES_LIMIT = 8192
# The capacity provider RunTask asks for, per capacity (both are associated with the cluster).
CAPACITY_PROVIDERS = {"on-demand": "FARGATE", "spot": "FARGATE_SPOT"}


class RunTaskFailed(Exception):
    """ECS did not start the task; ``reason`` is recorded on the run (safe to show).

    ``text`` is everything ECS said (failure reason and detail, or the error message): what
    ``capacity.failure_kind`` reads to tell a capacity or quota refusal from any other.
    """

    def __init__(self, reason: str, text: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.text = text or reason


def container_overrides(
    settings: ApiConfig,
    agent: dict[str, str],
    model_proxy: dict[str, str],
    repo_init: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``overrides`` block of RunTask: each container's environment (``repo_init`` only
    for a task of a repository family; its size is checked against ECS's 8 KiB limit)."""
    containers = [
        (settings.container_name, agent),
        (settings.model_proxy_container_name, model_proxy),
    ]
    if repo_init is not None:
        containers.append((settings.repo_init_container_name, repo_init))
    return {
        "containerOverrides": [
            {"name": name, "environment": [{"name": k, "value": v} for k, v in env.items()]}
            for name, env in containers
        ]
    }


def with_task_role(
    settings: ApiConfig, overrides: dict[str, Any], interactive: bool
) -> dict[str, Any]:
    """``overrides`` with the task role the task runs as: a session's (``interactive``, ECS
    Exec enabled) is the exec role, which holds ECS Exec's rights and nothing else; a headless
    run names none, so it keeps its task definition's role, which may do nothing. It counts
    towards ECS's 8 KiB like the containers' environment (about 80 characters)."""
    out = {k: v for k, v in overrides.items() if k != "taskRoleArn"}
    if interactive:
        out["taskRoleArn"] = settings.exec_task_role_arn
    return out


class Ecs:
    """Thin adapter over the ECS API for one cluster and its per-provider task definitions."""

    def __init__(self, settings: ApiConfig, client: Any | None = None):
        self.settings = settings
        self._client = client

    api = aws.LazyClient("ecs")

    def run_task(
        self,
        run_id: str,
        provider: str,
        overrides: dict[str, Any],
        interactive: bool,
        capacity: str = "on-demand",
        client_token: str | None = None,
        *,
        repo: bool = False,
    ) -> str:
        """Start one Fargate task for ``run_id`` with ``provider``'s task definition (the only
        one that holds that provider's key; with ``repo``, the family with the clone
        container) on ``capacity`` (on-demand or spot), as the exec role when ``interactive``
        (``with_task_role``); returns its ARN or raises
        RunTaskFailed. ``client_token`` (default: the run id) makes a repeated call return
        the same task; a second start of the same run needs its own."""
        s = self.settings
        task_definition = s.task_definition_arn(provider, repo)
        # Decided here, whoever built the overrides (a Spot restart rebuilds them from ECS's).
        overrides = with_task_role(s, overrides, interactive)
        try:
            resp = self.api.run_task(
                cluster=s.cluster_arn,
                taskDefinition=task_definition,
                capacityProviderStrategy=[
                    {"capacityProvider": CAPACITY_PROVIDERS[capacity], "weight": 1}
                ],
                count=1,
                startedBy=run_id,
                clientToken=client_token or run_id,
                enableExecuteCommand=interactive,
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": list(s.subnet_ids),
                        "securityGroups": list(s.security_group_ids),
                        "assignPublicIp": s.assign_public_ip,
                    }
                },
                overrides=overrides,
            )
        except Exception as exc:
            code = aws.error_code(exc) or type(exc).__name__
            raise RunTaskFailed(f"RunTask failed: {code}", str(exc)) from exc
        tasks = resp.get("tasks") or []
        if not tasks:
            failures = resp.get("failures") or [{}]
            first = failures[0]
            reason = first.get("reason") or "unknown"
            detail = first.get("detail")
            text = f"RunTask failed: {reason}" + (f" ({detail})" if detail else "")
            raise RunTaskFailed(text[:500], text)
        return str(tasks[0]["taskArn"])

    def stop_task(self, task_arn: str, reason: str) -> None:
        """Ask ECS to stop a task (SIGTERM, then SIGKILL after the container's stopTimeout)."""
        self.api.stop_task(
            cluster=self.settings.cluster_arn, task=task_arn, reason=reason[:STOP_REASON_MAX]
        )

    def describe(self, task_arns: list[str]) -> list[dict[str, Any]]:
        """Describe up to any number of tasks (batched by 100)."""
        out: list[dict[str, Any]] = []
        for i in range(0, len(task_arns), 100):
            resp = self.api.describe_tasks(
                cluster=self.settings.cluster_arn, tasks=task_arns[i : i + 100]
            )
            out.extend(resp.get("tasks", []))
        return out

    def running_tasks(self) -> Iterator[dict[str, Any]]:
        """Every task of the cluster whose desired status is RUNNING, described."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "cluster": self.settings.cluster_arn,
                "desiredStatus": "RUNNING",
                "maxResults": 100,
            }
            if token:
                kwargs["nextToken"] = token
            resp = self.api.list_tasks(**kwargs)
            arns = resp.get("taskArns", [])
            if arns:
                yield from self.describe(arns)
            token = resp.get("nextToken")
            if not token:
                return


def exec_command(settings: ApiConfig, task_arn: str) -> str:
    """The exact command an operator runs to open a shell in an interactive task."""
    return (
        f"aws ecs execute-command --cluster {settings.cluster_arn} --task {task_arn} "
        f"--container {settings.container_name} --interactive --command /bin/bash"
    )


def task_id(task_arn: str) -> str:
    """The id part of a task ARN (``.../cluster-name/<id>``)."""
    return task_arn.rsplit("/", 1)[-1]


def overrides_size(overrides: dict[str, Any]) -> int:
    """Conservative size of the ECS overrides: the larger of escaped-JSON chars and UTF-8 bytes."""
    ascii_len = len(json.dumps(overrides, separators=(",", ":"), ensure_ascii=True))
    utf8_len = len(json.dumps(overrides, separators=(",", ":"), ensure_ascii=False).encode())
    return max(ascii_len, utf8_len)


def check_overrides(overrides: dict[str, Any]) -> None:
    """Refuse (413) a run whose container overrides would exceed ECS's 8 KiB limit."""
    size = overrides_size(overrides)
    if size > ECS_OVERRIDES_LIMIT:
        raise PayloadTooLarge(
            f"prompt (with repo, ref and the task's presigned artifact URLs) too large: the "
            f"task overrides of all its containers would be {size} characters, ECS allows "
            f"{ECS_OVERRIDES_LIMIT}"
        )
