"""Fargate capacity: what a run asks for, its one fall back from Spot, and quota refusals.

The setting ``capacity`` (env ``CAPACITY``) decides:

* ``on-demand`` - every task on FARGATE;
* ``spot`` - every task on FARGATE_SPOT; without Spot capacity the run fails to start;
* ``spot-then-on-demand`` - FARGATE_SPOT first; when ECS has no Spot capacity for it (RunTask
  refuses, or the task stops before it ever ran for lack of capacity) the same run is started
  once more on FARGATE.

A fall back is written on the run *before* its second RunTask (``capacity_used``,
``fallback_reason`` and the on-demand price), so the API never starts a task it has not
recorded; it keeps the run's one concurrency slot; and it has its own ``clientToken``
(``<run_id>-on-demand``): ECS would answer the first token with the first (Spot) task, while
a repeat of the same fall back - a redelivered event, the reaper - gets the same on-demand task.

A Spot interruption of a running task (ECS ``stopCode`` ``SpotInterruption``: SIGTERM, two
minutes' warning) ends the run through the entrypoint's normal 143 path, result and patch
included; the run records ``interrupted: true``. A refusal for the account's Fargate vCPU quota
is answered 429 ``fargate_vcpu_quota`` (after the run is recorded as failed and its slot freed),
never a task that cannot start; with ``spot-then-on-demand`` a Spot quota refusal falls back.
"""

from __future__ import annotations

import logging
from typing import Any

from ..cloud.ecs import Ecs, RunTaskFailed
from ..core.config import ApiConfig
from ..core.errors import VcpuQuotaReached
from ..core.statuses import FAILED_TO_START, RUNNING, STATUS_RANK
from ..persistence.store import Store

log = logging.getLogger(__name__)

SPOT, ON_DEMAND = "spot", "on-demand"
SPOT_THEN_ON_DEMAND = "spot-then-on-demand"
# ECS Task.stopCode values (API reference).
SPOT_INTERRUPTION = "SpotInterruption"
TASK_FAILED_TO_START = "TaskFailedToStart"
# What ECS says, lower-cased, when it has no capacity ("Capacity is unavailable at this time.
# Please try again later or in a different availability zone") and when the account's Fargate
# quota is reached ("You've reached the limit on the number of vCPUs you can run
# concurrently"; before vCPU quotas, the same sentence counted tasks).
CAPACITY_TEXTS = ("capacity is unavailable",)
QUOTA_TEXTS = (
    "limit on the number of vcpus",
    "limit on the number of tasks you can run concurrently",
)


def failure_kind(text: str) -> str | None:
    """``"quota"``, ``"capacity"`` or None (any other failure) for what ECS said."""
    said = text.lower().replace("\u2019", "'")
    if any(t in said for t in QUOTA_TEXTS):
        return "quota"
    if any(t in said for t in CAPACITY_TEXTS):
        return "capacity"
    return None


def first_capacity(settings: ApiConfig) -> str:
    """The capacity a new run asks for."""
    return ON_DEMAND if settings.capacity == ON_DEMAND else SPOT


def priced(settings: ApiConfig, capacity: str) -> dict[str, Any]:
    """The run's capacity and the hourly price of it that its cost is computed with."""
    costs = settings.hourly_costs_usd or {}
    return {"capacity_used": capacity, "hourly_cost_usd": costs.get(capacity)}


def fallback_token(run_id: str) -> str:
    """The clientToken of the on-demand start (at most 46 of RunTask's 64 characters)."""
    return f"{run_id}-{ON_DEMAND}"


def stopped_fields(task: dict[str, Any]) -> dict[str, Any]:
    """What a STOPPED task adds to its run: whether Spot took its capacity back."""
    return {"interrupted": task.get("stopCode") == SPOT_INTERRUPTION}


def never_ran_for_capacity(task: dict[str, Any]) -> bool:
    """The task stopped before it was ever RUNNING (no ``startedAt``), for lack of Spot
    capacity: interrupted while provisioning, or failed to start with a capacity reason."""
    if task.get("startedAt"):
        return False
    code = task.get("stopCode")
    reason = str(task.get("stoppedReason") or "")
    return code == SPOT_INTERRUPTION or (
        code == TASK_FAILED_TO_START and failure_kind(reason) is not None
    )


def quota_refusal(run_id: str, exc: RunTaskFailed) -> VcpuQuotaReached | None:
    """The 429 for a start ECS refused for the vCPU quota (the run is already recorded)."""
    if failure_kind(exc.text) != "quota":
        return None
    return VcpuQuotaReached(
        f"the account's Fargate vCPU quota is reached, so ECS did not start the task; run "
        f"{run_id} is recorded as FAILED_TO_START and holds no slot. Invoke the admin function "
        'with {"action": "preflight"} for the quotas and how many runs fit, and request an '
        f"increase in Service Quotas. ECS said: {exc.reason}"
    )


class Capacity:
    """Starts a run's task on its capacity, and on on-demand once when Spot has none."""

    def __init__(self, settings: ApiConfig, store: Store, ecs: Ecs):
        self.settings = settings
        self.store = store
        self.ecs = ecs

    @property
    def falls_back(self) -> bool:
        return self.settings.capacity == SPOT_THEN_ON_DEMAND

    def _fallback_fields(self, reason: str) -> dict[str, Any]:
        return {**priced(self.settings, ON_DEMAND), "fallback_reason": reason[:500]}

    def start(
        self,
        run_id: str,
        provider: str,
        overrides: dict[str, Any],
        interactive: bool,
        *,
        repo: bool = False,
    ) -> str:
        """RunTask on the first capacity; on a Spot capacity (or Spot quota) refusal with
        ``spot-then-on-demand``, record the fall back, then RunTask on on-demand once.
        ``repo``: the run has a repository (its task is of the family with the clone)."""
        capacity = first_capacity(self.settings)
        try:
            return self.ecs.run_task(run_id, provider, overrides, interactive, capacity, repo=repo)
        except RunTaskFailed as exc:
            if capacity != SPOT or not self.falls_back or failure_kind(exc.text) is None:
                raise
            reason = f"Spot: {exc.reason}"
        log.info("run %s falls back to on-demand: %s", run_id, reason)
        self.store.set_fields(run_id, self._fallback_fields(reason))
        return self.ecs.run_task(
            run_id, provider, overrides, interactive, ON_DEMAND, fallback_token(run_id), repo=repo
        )

    def restart(self, record: dict[str, Any], task: dict[str, Any]) -> dict[str, Any] | None:
        """Start a run whose Spot task stopped before it ran for lack of capacity again, on
        on-demand (once); None when this STOPPED task is to be recorded as usual instead."""
        arn = task.get("taskArn")
        if (
            not self.falls_back
            or record.get("task_arn") != arn
            or record.get("stop_requested_at")
            or int(record.get("status_rank", 0)) >= STATUS_RANK[RUNNING]
            or not never_ran_for_capacity(task)
        ):
            return None
        run_id = str(record["run_id"])
        overrides = self._overrides_of(task)
        if overrides is None or record.get("provider") not in self.settings.task_definition_arns:
            return None
        reason = f"Spot task stopped before it ran: {task.get('stopCode')}: " + str(
            task.get("stoppedReason") or ""
        )
        if record.get("capacity_used") == ON_DEMAND and record.get("spot_task_arn") != arn:
            return None  # already on on-demand: a run falls back once
        if record.get("capacity_used") != ON_DEMAND:
            claimed = self.store.set_fields_if(
                run_id,
                {**self._fallback_fields(reason), "spot_task_arn": arn},
                {"task_arn": arn, "capacity_used": SPOT},
            )
            current = record if claimed else (self.store.get_run(run_id) or {})
            if not claimed and not (
                current.get("task_arn") == arn and current.get("capacity_used") == ON_DEMAND
            ):
                return None
        # Claimed now, or by an earlier delivery that did not finish: start (or find) the task.
        try:
            new_arn = self.ecs.run_task(
                run_id,
                str(record["provider"]),
                overrides,
                record.get("kind") == "session",
                ON_DEMAND,
                fallback_token(run_id),
                repo=bool(record.get("repo")),
            )
        except RunTaskFailed as exc:
            self.store.transition(run_id, FAILED_TO_START, {"failure_reason": exc.reason})
            return {"run_id": run_id, "status": FAILED_TO_START, "fallback": ON_DEMAND}
        if not self.store.set_fields_if(
            run_id,
            {"task_arn": new_arn},
            {"task_arn": arn, "slot_held": True},
            ("stop_requested_at",),
        ):
            # The run was stopped or ended meanwhile: its new task must not outlive it.
            self.ecs.stop_task(new_arn, "cloudagent: the run ended before its restart was recorded")
            return None
        log.info("run %s restarted on on-demand as %s", run_id, new_arn)
        return {"run_id": run_id, "restarted": ON_DEMAND, "task_arn": new_arn}

    def _overrides_of(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """The stopped task's container overrides (the run's environment), as ECS has them."""
        described = self.ecs.describe([str(task["taskArn"])])
        source = described[0] if described else task
        containers = (source.get("overrides") or {}).get("containerOverrides")
        if not isinstance(containers, list) or not containers:
            return None
        return {"containerOverrides": containers}
