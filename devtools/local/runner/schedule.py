"""EventBridge's schedule for the deployed `rate(...)` rules (the reaper), while `make up` runs.

moto stores scheduled rules but never fires them. The runner fires each enabled
`rate(N minute|minutes|hour|hours)` rule on its period, first one period after it starts (as
a new rule in AWS), by invoking the rule's Lambda targets with a Scheduled Event.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from devtools.local.lambdas import Aws, invoke

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours)\)$")


def period_seconds(expression: str) -> int | None:
    found = RATE.match(expression.strip())
    if not found:
        return None
    return int(found.group(1)) * (3600 if found.group(2).startswith("hour") else 60)


def scheduled_event(aws: Aws, rule_arn: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule_arn.split(":")[4],
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": aws.region,
        "resources": [rule_arn],
        "detail": {},
    }


class Schedule:
    """A thread that fires due scheduled rules once a second."""

    def __init__(self, aws: Aws, log: Callable[[str], None]) -> None:
        self.aws = aws
        self._log = log
        self._next: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(1):
            try:
                self._tick(time.monotonic())
            except Exception as error:  # moto going away during make down
                self._log(f"schedule: {error!r}"[:300])

    def _tick(self, now: float) -> None:
        events = self.aws.client("events")
        for rule in events.list_rules(EventBusName="default").get("Rules", []):
            period = period_seconds(rule.get("ScheduleExpression") or "")
            if not period or rule.get("State") != "ENABLED":
                continue
            due = self._next.setdefault(rule["Arn"], now + period)
            if now < due:
                continue
            self._next[rule["Arn"]] = now + period
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                name = target["Arn"].split(":")[6] if ":function:" in target["Arn"] else None
                if name:
                    result = invoke(self.aws, name, scheduled_event(self.aws, rule["Arn"]))
                    self._log(f"schedule: {rule['Name']} -> {name}: {result}"[:1000])
