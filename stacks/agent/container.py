"""The containers of an agent task as ECS runs them: the container contract (docs §4).

Two task definition families per provider: `<prefix>-agent-<provider>` (`model-proxy` + `agent`:
runs without a repository, and sessions) and `<prefix>-agent-<provider>-repo` (`repo-init` +
`model-proxy` + `agent`: runs with a repository). The agent holds no secret; the provider's key
is on the proxy alone, the clone token on repo-init alone (stacks/agent/containers/).

`container_definitions` is the JSON string ECS takes; the project's Checkov checks parse it
(Checkov's built-in container checks cannot read a string and would pass it wrongly).
"""

from __future__ import annotations

import json

from stacks.agent.containers.agent import agent_container
from stacks.agent.containers.base import AGENT_CAPABILITY_DROP, TASK_VOLUMES, WORKSPACE_VOLUME
from stacks.agent.containers.model_proxy import model_proxy_container
from stacks.agent.containers.repo_init import repo_init_container
from stacks.shared.settings import Settings

__all__ = [
    "AGENT_CAPABILITY_DROP",
    "TASK_VOLUMES",
    "WORKSPACE_VOLUME",
    "container_definitions",
    "provider_repo_task_family",
    "provider_task_family",
    "task_family",
]
REPO_FAMILY_SUFFIX = "-repo"


def task_family(settings: Settings) -> str:
    """The agent's name stem: its roles, log group and security group carry it."""
    return f"{settings.prefix}-agent"


def provider_task_family(settings: Settings, provider: str) -> str:
    """One task definition per provider, so a task holds its own provider's key and no other."""
    return f"{task_family(settings)}-{provider}"


def provider_repo_task_family(settings: Settings, provider: str) -> str:
    """The provider's family for runs with a repository: the one that has repo-init."""
    return provider_task_family(settings, provider) + REPO_FAMILY_SUFFIX


def container_definitions(
    settings: Settings,
    *,
    image: str,
    log_group: str,
    provider: str,
    secret_arn: str,
    with_repo: bool,
    repo_token_secret_arn: str | None = None,
) -> str:
    """The containers of one family as the JSON string ECS takes (the agent first).

    Only `provider`'s key is injected, and only into the proxy: a tool the agent runs can read
    every variable of its own container's processes, so the agent container gets no secret. The
    clone token (private_repos) goes to repo-init, which only the `-repo` families have.
    """
    containers = [
        agent_container(
            settings, image=image, log_group=log_group, provider=provider, with_repo=with_repo
        ),
        model_proxy_container(
            settings, image=image, log_group=log_group, provider=provider, secret_arn=secret_arn
        ),
    ]
    if with_repo:
        containers.append(
            repo_init_container(
                settings,
                image=image,
                log_group=log_group,
                repo_token_secret_arn=repo_token_secret_arn,
            )
        )
    return json.dumps(containers)
