"""ECS Task State Change events applied to run records, and the result read when a task stops.

EventBridge delivers at least once and in no guaranteed order, and the reaper applies the
same task descriptions when an event was lost; so everything here is safe to repeat: the
status only moves forward (``store.transition``), timestamps an earlier event lacked are
filled in, and a stored result is never replaced.

The task's private IPv4 address is recorded the first time an event carries it; when the
task stops, the run's per-run egress domains are released (``egress.py``) and what the
DNS Firewall blocked for that address is stored (``cloud/blocked.py``). The result joins the
agent's ``runtime_end`` with what the model proxy metered (``metering.py``): the usage that is
billed, and whether the run hit its spend cap (``budget_exceeded``, also on the record).
"""

from __future__ import annotations

import logging
from typing import Any

from ..cloud.blocked import BlockedDomains, task_private_ip
from ..cloud.ecs import task_id
from ..cloud.logs import LogReader, stream_name
from ..core import aws
from ..core.config import ApiConfig
from ..core.ids import RUN_ID_RE
from ..core.statuses import ECS_STATUS, STATUS_RANK, STOPPED
from ..core.times import now_iso, to_iso
from ..persistence.store import Store
from . import metering, results
from .capacity import Capacity, stopped_fields
from .egress import RunDomainList

log = logging.getLogger(__name__)


class TaskStateHandler:
    """Record what ECS reports about a run's task, and the run's result once it stopped."""

    def __init__(
        self,
        settings: ApiConfig,
        store: Store,
        logs: LogReader,
        egress: RunDomainList | None = None,
        blocked: BlockedDomains | None = None,
        capacity: Capacity | None = None,
    ):
        self.settings = settings
        self.store = store
        self.logs = logs
        self.egress = egress or RunDomainList(settings, store)
        self.blocked = blocked or BlockedDomains(settings)
        # Restarts a Spot task that stopped before it ran on on-demand (capacity.py).
        self.capacity = capacity

    def handle_task_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Apply one ECS Task State Change event; safe under repeats and reordering."""
        if not isinstance(event, dict) or event.get("detail-type") != "ECS Task State Change":
            return {"ignored": "not an ECS task state change"}
        detail = event.get("detail")
        if not isinstance(detail, dict):
            return {"ignored": "no detail"}
        return self.apply_task_state(detail)

    def apply_task_state(self, task: dict[str, Any]) -> dict[str, Any]:
        """Record a task's state (from an event detail or DescribeTasks) on its run."""
        if task.get("clusterArn") != self.settings.cluster_arn:
            return {"ignored": "other cluster"}
        run_id = task.get("startedBy")
        if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
            return {"ignored": "not started by this API"}
        status = ECS_STATUS.get(str(task.get("lastStatus")))
        arn = task.get("taskArn")
        if status is None or not isinstance(arn, str):
            return {"ignored": "unknown status"}
        record = self.store.get_run(run_id)
        if record is None:
            return {"ignored": "no run record", "run_id": run_id}
        if record.get("task_arn") and record["task_arn"] != arn:
            return {"ignored": "task does not belong to this run", "run_id": run_id}
        fill = {
            "task_arn": arn,
            "started_at": to_iso(task.get("startedAt")),
            "billing_started_at": to_iso(task.get("pullStartedAt") or task.get("startedAt")),
            # The first address seen is kept: an applied transition sets fill values as given.
            "private_ip": None if record.get("private_ip") else task_private_ip(task),
        }
        fields: dict[str, Any] = {}
        late: dict[str, Any] = {}
        if status == STOPPED:
            restarted = self.capacity.restart(record, task) if self.capacity else None
            if restarted:
                return restarted
            fields = self._stopped_fields(task)
            given = {k: v for k, v in fill.items() if v is not None}
            # The record as the write leaves it: a transition sets fill and fields as given; a
            # run already at or past STOPPED keeps what it has and gains only missing fill.
            if int(record.get("status_rank", 0)) >= STATUS_RANK[STOPPED]:
                seen = {**given, **record}
            else:
                seen = {**record, **given, **fields}
            late = self._stop_bookkeeping(run_id, seen, arn)
        result = self.store.transition(
            run_id, status, fields, fill, current=record, late=late or None
        )
        return {
            "run_id": run_id,
            "status": status,
            "applied": result.applied,
            "released_slot": result.released_slot,
        }

    def _stopped_fields(self, task: dict[str, Any]) -> dict[str, Any]:
        """What a STOPPED task description says about how the run ended."""
        container = next(
            (
                c
                for c in task.get("containers") or []
                if isinstance(c, dict) and c.get("name") == self.settings.container_name
            ),
            {},
        )
        exit_code = container.get("exitCode")
        reason = str(task.get("stoppedReason") or container.get("reason") or "")[:1000]
        return {
            "stopped_at": to_iso(task.get("stoppedAt")) or now_iso(),
            "exit_code": exit_code if isinstance(exit_code, int) else None,
            "stopped_reason": reason or None,
            "stop_code": task.get("stopCode"),
            **stopped_fields(task),
        }

    def _stop_bookkeeping(self, run_id: str, record: dict[str, Any], arn: str) -> dict[str, Any]:
        """For a stopped run (``record`` as it is about to be written): release its egress
        domains, and return the result and blocked-name fields it still lacks, to be written
        with the transition. Never raises."""
        out: dict[str, Any] = {}
        if not isinstance(record.get("result"), dict):
            out.update(self.result_fields(run_id, record, arn))
        try:
            if record.get("egress_domains"):
                self.egress.release(run_id)
            if not record.get("blocked_domains_read_at"):
                out.update(self.blocked.fields(record))
        except Exception as exc:
            log.warning("egress bookkeeping of %s failed: %r", run_id, exc)
        return out

    def result_fields(
        self, run_id: str, record: dict[str, Any], task_arn: str | None = None
    ) -> dict[str, Any]:
        """The run's ``result`` fields: ``runtime_end`` from its agent's log stream, billed by
        what its model proxy's stream metered.

        Never raises (a result must not fail a state transition): anything that goes wrong is
        ``result: null`` plus a short ``result_error``.
        """
        error: str | None = None
        result: dict[str, Any] | None = None
        metered: metering.Metered | None = None
        try:
            arn = task_arn or record.get("task_arn")
            if not arn:
                raise results.ResultUnavailable("the run has no task")
            task = task_id(str(arn))
            # Metered first: an agent killed before its runtime_end (OOM, SIGKILL) still spent.
            metered = self._metered(run_id, task)
            stream = stream_name(self.settings.container_name, task)
            reported = results.read_result(self.logs.tail(stream, results.RESULT_PAGES), run_id)
            result = metering.billed(reported, metered)
        except results.ResultUnavailable as exc:
            error = str(exc)
        except Exception as exc:
            code = aws.error_code(exc)
            if code == "ResourceNotFoundException":
                error = "the run's log stream does not exist"
            else:
                log.warning("reading the result of %s failed: %r", run_id, exc)
                error = f"the log stream could not be read ({code or type(exc).__name__})"
        if error:
            log.info("run %s has no result: %s", run_id, error)
        fields: dict[str, Any] = {
            "result": result,
            "result_error": error[: results.REASON_MAX_CHARS] if error else None,
            "result_read_at": now_iso(),
        }
        if result is not None:
            fields["budget_exceeded"] = result["budget_exceeded"]
        elif metered is not None:  # no result, but what the proxy metered is still billed
            fields["budget_exceeded"] = metered.budget_exceeded
            fields["metered_usage"] = metered.usage
        return fields

    def _metered(self, run_id: str, task: str) -> metering.Metered:
        """The model proxy's account of the run; a stream that does not exist metered nothing
        (zeros), one that cannot be read leaves the result to a later read."""
        stream = stream_name(self.settings.model_proxy_container_name, task)
        try:
            return metering.read_metered(self.logs.tail(stream, metering.PROXY_PAGES), run_id)
        except Exception as exc:
            code = aws.error_code(exc)
            if code == "ResourceNotFoundException":
                return metering.Metered()
            log.warning("reading the model proxy's log of %s failed: %r", run_id, exc)
            raise results.ResultUnavailable(
                f"the model proxy's log stream could not be read ({code or type(exc).__name__})"
            ) from None

    def store_result(
        self, run_id: str, record: dict[str, Any], task_arn: str | None = None
    ) -> str | None:
        """Read and store the run's result (the reaper's retry). A result already stored is
        kept (idempotent); returns the error, or None once stored."""
        if isinstance(record.get("result"), dict):
            return None
        fields = self.result_fields(run_id, record, task_arn)
        try:
            self.store.set_result(run_id, fields)
        except Exception as exc:
            log.warning("storing the result of %s failed: %r", run_id, exc)
            return "the result could not be stored"
        return fields["result_error"] if fields["result"] is None else None

    def finish_egress(self, run_id: str, *, reread: bool = False) -> None:
        """Release the stopped run's egress domains and store what the firewall blocked for
        it. Never raises; the names are read once (``reread``: the reaper's later pass, once
        late query-log records have arrived)."""
        try:
            record = self.store.get_run(run_id) or {}
            if record.get("egress_domains"):
                self.egress.release(run_id)
            if reread or not record.get("blocked_domains_read_at"):
                self.store.set_fields(run_id, self.blocked.fields(record))
        except Exception as exc:
            log.warning("egress bookkeeping of %s failed: %r", run_id, exc)
