"""CKV_CA_5: every ECS container runs as a named non-root user and never privileged.

The agent executes arbitrary tool calls; root in the container (or a privileged container) turns
a prompt injection into control of the task's kernel interface. ECS uses the image's user when
`user` is absent, so the task definition must say it: any user other than root/uid 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, container_name, containers

ROOT_USERS = {"", "0", "root"}


class EcsContainerNonRootUnprivileged(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS containers (parsed from container_definitions) set a non-root user and "
            "are not privileged",
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
        return found


check = EcsContainerNonRootUnprivileged()
