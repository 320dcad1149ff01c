"""CKV_CA_23: the `agent` container of every agent task definition has no `secrets` at all.

Whoever writes the prompt decides what runs in the agent container, and any process there can
read the environment of every other process of the container (`/proc/<pid>/environ`); removing
a variable from one child's environment does not hide it. So the only safe place for a secret
is another container: the provider's key is on `model-proxy` (CKV_CA_24), the clone token on
`repo-init` (CKV_CA_25). The agent container must not even carry an empty `secrets` list, so a
later edit that adds one entry is a visible change of shape, not a quiet append.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, as_list
from security.ecs_containers import containers_named
from stacks.shared.constants import AGENT_CONTAINER_NAME


class AgentContainerHoldsNoSecret(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS agent task definitions: the `agent` container (which runs the model's "
            "commands) has no `secrets` key at all; secrets live only in its sidecars",
            id="CKV_CA_23",
            resources=["aws_ecs_task_definition"],
            categories=[CheckCategories.SECRETS],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        agents = containers_named(conf, AGENT_CONTAINER_NAME)
        if len(agents) != 1:
            return [
                f"{len(agents)} containers named '{AGENT_CONTAINER_NAME}'; an agent task "
                "definition has exactly one"
            ]
        [agent] = agents
        if "secrets" not in agent:
            return []
        names = sorted(str((e or {}).get("name", "?")) for e in as_list(agent["secrets"]))
        return [
            f"container '{AGENT_CONTAINER_NAME}' has a `secrets` key ({names or 'empty'}); "
            "whoever writes the prompt could read them"
        ]


check = AgentContainerHoldsNoSecret()
