"""The `agent` container: pi and the commands the model chooses, holding no secret at all.

Whoever writes the prompt controls what runs here, and a process can read the environment of
every process of its own container (`/proc/<pid>/environ`). So nothing secret is put here: no
`secrets` key at all (CKV_CA_23). pi reaches the model through the `model-proxy` sidecar on
127.0.0.1 with a placeholder key; with a repository, the `repo-init` container has already
cloned it into the workspace and left its result on the handoff volume, read-only here.
"""

from __future__ import annotations

from typing import Any

from stacks.agent.containers.base import (
    WORKSPACE_VOLUME,
    environment,
    hardened,
    log_configuration,
    mount,
)
from stacks.shared.constants import (
    AGENT_CONTAINER_NAME,
    AGENT_HANDOFF_DIR,
    AGENT_MAX_RUNTIME_SECONDS,
    AGENT_STOP_GRACE_SECONDS,
    AGENT_USER_UID,
    AGENT_WORKSPACE,
    HANDOFF_VOLUME,
    MODEL_PROXY_CONTAINER_NAME,
    MODEL_PROXY_MEMORY_MIB,
    MODEL_PROXY_PORT,
    REPO_INIT_CONTAINER_NAME,
    TASK_MEMORY_MIB,
)
from stacks.shared.settings import Settings

# The task keeps the largest Fargate shape; the proxy's hard 512 MiB is taken from it and the
# agent gets the rest as its own hard limit (moto's RunTask and ECS sizing reports want one).
AGENT_MEMORY_MIB = TASK_MEMORY_MIB - MODEL_PROXY_MEMORY_MIB
MODEL_PROXY_URL = f"http://127.0.0.1:{MODEL_PROXY_PORT}"


def agent_container(
    settings: Settings, *, image: str, log_group: str, provider: str, with_repo: bool
) -> dict[str, Any]:
    """The agent as ECS runs it; the image's own entrypoint (`/usr/local/bin/entrypoint`)."""
    return {
        "name": AGENT_CONTAINER_NAME,
        "image": image,
        "essential": True,
        **hardened(AGENT_USER_UID, writable_root=True),  # ECS Exec (interactive sessions)
        "memory": AGENT_MEMORY_MIB,
        "workingDirectory": AGENT_WORKSPACE,
        "mountPoints": [
            mount(WORKSPACE_VOLUME, AGENT_WORKSPACE, read_only=False),
            # repo-init's clone result; the agent may read it, never rewrite it.
            mount(HANDOFF_VOLUME, AGENT_HANDOFF_DIR, read_only=True),
        ],
        "dependsOn": _depends_on(with_repo),
        "environment": environment(
            {
                "AGENT_MAX_RUNTIME_SECONDS": str(AGENT_MAX_RUNTIME_SECONDS),
                "AGENT_STOP_GRACE_SECONDS": str(AGENT_STOP_GRACE_SECONDS),
                "AGENT_PROVIDER": provider,
                "PI_OFFLINE": "1",
                "AGENT_MODEL_PROXY_URL": MODEL_PROXY_URL,
                "AGENT_HANDOFF_DIR": AGENT_HANDOFF_DIR,
            }
        ),
        "logConfiguration": log_configuration(settings, log_group),
    }


def _depends_on(with_repo: bool) -> list[dict[str, str]]:
    """The proxy has started (the entrypoint then waits for its health itself) and, with a
    repository, repo-init has exited 0: it exits 0 with a clone result either way, so a failed
    clone reaches the agent as a reason, not as a task that never started."""
    return [
        {"containerName": MODEL_PROXY_CONTAINER_NAME, "condition": "START"},
        *(
            [{"containerName": REPO_INIT_CONTAINER_NAME, "condition": "SUCCESS"}]
            if with_repo
            else []
        ),
    ]
