"""CKV_CA_6: every ECS container runs an init process and gets exactly the 30 s stop grace.

pi as PID 1 ignores SIGINT and leaves tool children behind (docs/ARCHITECTURE.md §10), so
`initProcessEnabled` must be on; the entrypoint's SIGTERM -> SIGKILL grace and ECS
`stopTimeout` must be the same
number (`AGENT_STOP_GRACE_SECONDS`), or ECS kills the agent before it could stop cleanly (or
keeps paying for a hung one).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck
from security.ecs_containers import container_name, containers
from stacks.shared.constants import AGENT_STOP_GRACE_SECONDS


class EcsContainerInitAndStopGrace(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS containers enable linuxParameters.initProcessEnabled and set stopTimeout "
            f"to the {AGENT_STOP_GRACE_SECONDS} s stop grace",
            id="CKV_CA_6",
            resources=["aws_ecs_task_definition"],
            categories=[CheckCategories.GENERAL_SECURITY],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for container in containers(conf):
            where = container_name(container)
            linux = container.get("linuxParameters") or {}
            if linux.get("initProcessEnabled") is not True:
                found.append(f"{where}: linuxParameters.initProcessEnabled is not true")
            if container.get("stopTimeout") != AGENT_STOP_GRACE_SECONDS:
                found.append(
                    f"{where}: stopTimeout {container.get('stopTimeout')!r}, "
                    f"must be {AGENT_STOP_GRACE_SECONDS}"
                )
        return found


check = EcsContainerInitAndStopGrace()
