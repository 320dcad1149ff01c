"""CKV_CA_9: every CloudWatch log group keeps its events exactly `LOG_RETENTION_DAYS` (14) days.

Agent logs carry prompts and model output; keeping them forever is a data-retention risk and a
cost, keeping them shorter loses the trail an operator needs to investigate a run. Unset
retention means "never expire", so it fails too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, attr
from stacks.shared.constants import LOG_RETENTION_DAYS


class LogGroupRetention(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"CloudWatch log groups keep events exactly {LOG_RETENTION_DAYS} days",
            id="CKV_CA_9",
            resources=["aws_cloudwatch_log_group"],
            categories=[CheckCategories.LOGGING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        days = attr(conf, "retention_in_days")
        try:
            ok = int(days) == LOG_RETENTION_DAYS
        except (TypeError, ValueError):
            ok = False
        if ok:
            return []
        return [f"retention_in_days {days!r}, must be {LOG_RETENTION_DAYS}"]


check = LogGroupRetention()
