"""What every container of an agent task shares: its hardening, its log and the task's volumes.

The project's Checkov checks (CKV_CA_5..8, 23..25) parse `container_definitions` and hold every
container to these, not only the agent: a sidecar that ran as root or logged in blocking mode
would undo the agent's guarantees from beside it.
"""

from __future__ import annotations

from typing import Any

from stacks.shared.constants import AGENT_STOP_GRACE_SECONDS, HANDOFF_VOLUME
from stacks.shared.settings import Settings

# awslogs in non-blocking mode drops lines rather than stall a container when CloudWatch is
# slow; the buffer absorbs bursts of tool output.
AWSLOGS_MAX_BUFFER = "25m"
# One log group, one prefix: streams are `agent/<container>/<task-id>` (agent, model-proxy,
# repo-init), so the control plane reads each container's lines by name.
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
# Both volumes are the task's own (Fargate ephemeral storage): every container of a task sees
# the same two, no other task does.
TASK_VOLUMES = (WORKSPACE_VOLUME, HANDOFF_VOLUME)


def hardened(uid: int, *, writable_root: bool) -> dict[str, Any]:
    """A named non-root user, no privilege, no capability, an init, the shared stop grace.

    `writable_root` only where ECS Exec must work (the agent's interactive sessions): the ECS
    Exec agent cannot run in a container whose root filesystem is read-only, which is what the
    sidecars want — nobody gets a shell beside the key or the token.
    """
    return {
        "user": str(uid),
        "privileged": False,
        "readonlyRootFilesystem": not writable_root,
        # The entrypoint's SIGTERM -> SIGKILL grace; ECS kills a container after it.
        "stopTimeout": AGENT_STOP_GRACE_SECONDS,
        "linuxParameters": {
            # An init as PID 1 forwards signals and reaps children (git's, ECS Exec's).
            "initProcessEnabled": True,
            # No capabilities at all (docs/ARCHITECTURE.md §4): every container runs as a
            # non-root user and needs none; Fargate could only add SYS_PTRACE anyway.
            "capabilities": {"drop": list(AGENT_CAPABILITY_DROP)},
        },
    }


def mount(volume: str, path: str, *, read_only: bool) -> dict[str, Any]:
    return {"sourceVolume": volume, "containerPath": path, "readOnly": read_only}


def log_configuration(settings: Settings, log_group: str) -> dict[str, Any]:
    """awslogs, non-blocking: a slow CloudWatch drops lines rather than stall the container."""
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


def environment(values: dict[str, str]) -> list[dict[str, str]]:
    """ECS's name/value list; nothing secret travels as a plain variable (CKV_CA_7)."""
    return [{"name": name, "value": value} for name, value in values.items()]
