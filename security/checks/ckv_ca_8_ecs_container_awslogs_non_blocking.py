"""CKV_CA_8: every ECS container logs through awslogs in non-blocking mode.

In the default blocking mode a slow CloudWatch stalls the container's stdout, and with it the
agent (docs/ARCHITECTURE.md §4: one JSON event per line to CloudWatch). Non-blocking drops lines
into a
buffer instead; the run record, not the log, is the source of truth.
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


class EcsContainerAwslogsNonBlocking(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS containers log with the awslogs driver in mode non-blocking",
            id="CKV_CA_8",
            resources=["aws_ecs_task_definition"],
            categories=[CheckCategories.LOGGING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for container in containers(conf):
            where = container_name(container)
            logging = container.get("logConfiguration") or {}
            if logging.get("logDriver") != "awslogs":
                found.append(f"{where}: log driver {logging.get('logDriver')!r}, not awslogs")
            mode = (logging.get("options") or {}).get("mode")
            if mode != "non-blocking":
                found.append(f"{where}: awslogs mode {mode!r} (blocking stalls the agent)")
        return found


check = EcsContainerAwslogsNonBlocking()
