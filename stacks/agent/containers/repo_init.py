"""The `repo-init` container: clones the run's repository before the agent exists, then exits.

With setting `private_repos` it alone receives the read-only clone token (CKV_CA_25): it
clones into the task's workspace volume, writes its result (`clone.json`) to the handoff volume
and exits 0 whether or not the clone worked, so the agent starts either way and reports the
clone's reason. Only the `-repo` task definitions have it: runs without a repository and
sessions get no token at all.
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
    AGENT_HANDOFF_DIR,
    AGENT_REPO_TOKEN_ENV,
    AGENT_USER_UID,
    AGENT_WORKSPACE,
    HANDOFF_VOLUME,
    REPO_INIT_CONTAINER_NAME,
)
from stacks.shared.settings import Settings

REPO_INIT_ENTRYPOINT = "/usr/local/bin/repo-init"


def repo_init_container(
    settings: Settings, *, image: str, log_group: str, repo_token_secret_arn: str | None
) -> dict[str, Any]:
    """repo-init as ECS runs it: the agent's uid (the clone is the agent's to work in).

    No hard memory: it runs before the agent and exits, so it shares the task's memory rather
    than take a slice from the agent for the whole run.
    """
    return {
        "name": REPO_INIT_CONTAINER_NAME,
        "image": image,
        # It exits when the clone is done; that must not stop the task.
        "essential": False,
        "entryPoint": [REPO_INIT_ENTRYPOINT],
        # A writable root as the agent's: git may write temporary files. No ECS Exec shell
        # can reach it: the control plane enables ECS Exec only for sessions, which never run
        # a `-repo` task definition.
        **hardened(AGENT_USER_UID, writable_root=True),
        "workingDirectory": AGENT_WORKSPACE,
        "mountPoints": [
            mount(WORKSPACE_VOLUME, AGENT_WORKSPACE, read_only=False),
            mount(HANDOFF_VOLUME, AGENT_HANDOFF_DIR, read_only=False),
        ],
        "environment": environment({"AGENT_HANDOFF_DIR": AGENT_HANDOFF_DIR}),
        **(
            {"secrets": [{"name": AGENT_REPO_TOKEN_ENV, "valueFrom": repo_token_secret_arn}]}
            if repo_token_secret_arn
            else {}
        ),
        "logConfiguration": log_configuration(settings, log_group),
    }
