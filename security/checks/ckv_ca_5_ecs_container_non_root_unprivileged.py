"""CKV_CA_5: every ECS container runs as a named non-root user, unprivileged, with no capabilities.

The agent executes arbitrary tool calls; root in the container (or a privileged container) turns
a prompt injection into control of the task's kernel interface. ECS uses the image's user when
`user` is absent, so the task definition must say it: any user other than root/uid 0. Docker's
default capability set still applies to the processes ECS Exec starts as root (and to any setuid
binary), so the container drops `ALL` and adds none back. Every container of the task
definition is judged: a root sidecar (the model proxy, repo-init) would share the task's
network and volumes with the agent.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, as_list
from security.ecs_containers import container_name, containers

ROOT_USERS = {"", "0", "root"}


def capability_problems(container: dict[str, Any]) -> list[str]:
    """Capabilities must be dropped wholesale (`ALL`) and none added back."""
    linux = container.get("linuxParameters")
    capabilities = linux.get("capabilities") if isinstance(linux, dict) else None
    capabilities = capabilities if isinstance(capabilities, dict) else {}
    found = []
    dropped = {str(c).upper() for c in as_list(capabilities.get("drop"))}
    if "ALL" not in dropped:
        found.append(f"keeps Docker's default capabilities (drop {sorted(dropped)}, not ALL)")
    added = sorted(str(c).upper() for c in as_list(capabilities.get("add")))
    if added:
        found.append(f"adds capabilities {added}")
    return found


class EcsContainerNonRootUnprivileged(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS containers (parsed from container_definitions) set a non-root user, are "
            "not privileged and drop every Linux capability",
            id="CKV_CA_5",
            resources=["aws_ecs_task_definition"],
            categories=[CheckCategories.GENERAL_SECURITY],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for container in containers(conf):
            where = container_name(container)
            user = container.get("user")
            if user is None:
                found.append(f"{where}: no `user` (ECS falls back to the image's, often root)")
            elif str(user).split(":", 1)[0].strip() in ROOT_USERS:
                found.append(f"{where}: runs as root (user {user!r})")
            if container.get("privileged") is True:
                found.append(f"{where}: privileged")
            found.extend(f"{where}: {problem}" for problem in capability_problems(container))
        return found


check = EcsContainerNonRootUnprivileged()
