"""The agent container as ECS runs it: the container contract of docs/ARCHITECTURE.md §4.

`container_definitions` is the JSON string ECS takes; the project's Checkov checks parse it
(Checkov's built-in container checks cannot read a string and would pass it wrongly).
"""

from __future__ import annotations

import json
from typing import Any

from stacks.shared.constants import (
    AGENT_CONTAINER_NAME,
    AGENT_MAX_RUNTIME_SECONDS,
    AGENT_REPO_TOKEN_ENV,
    AGENT_STOP_GRACE_SECONDS,
    AGENT_USER_UID,
    AGENT_WORKSPACE,
    PROVIDER_KEY_ENV,
    TASK_MEMORY_MIB,
)
from stacks.shared.settings import Settings

# awslogs in non-blocking mode drops lines rather than stall the agent when CloudWatch is slow;
# the buffer absorbs bursts of tool output.
AWSLOGS_MAX_BUFFER = "25m"
AWSLOGS_STREAM_PREFIX = "agent"
# Every Linux capability is dropped and none added. ECS Exec should keep working (only a real
# Fargate task can prove it; docs §6.3): AWS documents what it needs (a writable root
# filesystem, initProcessEnabled, the task role's ssmmessages actions; its SSM agent runs as
# root inside the container, see "Considerations for using ECS Exec" in the ECS developer
# guide) and no capability among it; AWS has published no capability list
# (aws/containers-roadmap#1360 asks for one). Root without capabilities can still write the
# agent's own root-owned directories; it cannot override file permissions, so an ECS Exec
# shell reads the workspace only where uid 1000's files allow it. `no-new-privileges`
# (dockerSecurityOptions) is not valid on Fargate, so it is not set.
AGENT_CAPABILITY_DROP = ("ALL",)
WORKSPACE_VOLUME = "workspace"


def task_family(settings: Settings) -> str:
    """The agent's name stem: its roles, log group and security group carry it."""
    return f"{settings.prefix}-agent"


def provider_task_family(settings: Settings, provider: str) -> str:
    """One task definition per provider, so a task holds its own provider's key and no other."""
    return f"{task_family(settings)}-{provider}"


def container_definitions(
    settings: Settings,
    *,
    image: str,
    log_group: str,
    provider: str,
    secret_arn: str,
    repo_token_secret_arn: str | None = None,
) -> str:
    """The container contract of docs/ARCHITECTURE.md §4 as the JSON string ECS takes.

    Only `provider`'s key is injected: a tool the agent runs can read every variable of the
    task's processes, so a key the run does not use must not be in the task at all.
    """
    return json.dumps(
        [
            {
                "name": AGENT_CONTAINER_NAME,
                "image": image,
                "essential": True,
                **_process_limits(),
                **_workspace(),
                "environment": _environment(provider),
                "secrets": _secrets(provider, secret_arn, repo_token_secret_arn),
                "logConfiguration": _log_configuration(settings, log_group),
            }
        ]
    )


def _process_limits() -> dict[str, Any]:
    """Who the agent runs as and what it may do to the host: uid 1000, no capabilities."""
    return {
        "user": str(AGENT_USER_UID),
        # moto's RunTask (and ECS sizing reports) want a container-level hard limit.
        "memory": TASK_MEMORY_MIB,
        "privileged": False,
        # ECS Exec needs a writable root filesystem: its agent writes into the container.
        "readonlyRootFilesystem": False,
        "stopTimeout": AGENT_STOP_GRACE_SECONDS,
        "linuxParameters": {
            "initProcessEnabled": True,
            # No capabilities at all (docs/ARCHITECTURE.md §4): the agent runs as uid
            # 1000 and needs none; Fargate could only add SYS_PTRACE anyway.
            "capabilities": {"drop": list(AGENT_CAPABILITY_DROP)},
        },
    }


def _workspace() -> dict[str, Any]:
    """The run's checkout lives on the task's own volume, not in the image's filesystem."""
    return {
        "workingDirectory": AGENT_WORKSPACE,
        "mountPoints": [
            {
                "sourceVolume": WORKSPACE_VOLUME,
                "containerPath": AGENT_WORKSPACE,
                "readOnly": False,
            }
        ],
    }


def _environment(provider: str) -> list[dict[str, str]]:
    """The run's limits and provider; nothing secret travels as a plain variable."""
    return [
        {"name": "AGENT_MAX_RUNTIME_SECONDS", "value": str(AGENT_MAX_RUNTIME_SECONDS)},
        {"name": "AGENT_STOP_GRACE_SECONDS", "value": str(AGENT_STOP_GRACE_SECONDS)},
        {"name": "AGENT_PROVIDER", "value": provider},
        {"name": "PI_OFFLINE", "value": "1"},
    ]


def _secrets(
    provider: str, secret_arn: str, repo_token_secret_arn: str | None
) -> list[dict[str, str]]:
    """Provider keys only ever arrive as secrets, resolved by ECS at task start."""
    return [
        {"name": PROVIDER_KEY_ENV[provider], "valueFrom": secret_arn},
        # The clone token (private_repos): the entrypoint uses it for the clone only.
        *(
            [{"name": AGENT_REPO_TOKEN_ENV, "valueFrom": repo_token_secret_arn}]
            if repo_token_secret_arn
            else []
        ),
    ]


def _log_configuration(settings: Settings, log_group: str) -> dict[str, Any]:
    """awslogs, non-blocking: a slow CloudWatch drops lines rather than stall the agent."""
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": log_group,
            "awslogs-region": settings.region,
            "awslogs-stream-prefix": AWSLOGS_STREAM_PREFIX,
            "mode": "non-blocking",
            "max-buffer-size": AWSLOGS_MAX_BUFFER,
        },
    }
