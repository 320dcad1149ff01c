"""ECS Task State Change events applied to run records, and the result read when a task stops.

EventBridge delivers at least once and in no guaranteed order, and the reaper applies the
same task descriptions when an event was lost; so everything here is safe to repeat: the
status only moves forward (``store.transition``), timestamps an earlier event lacked are
filled in, and a stored result is never replaced.
"""

from __future__ import annotations

import logging
from typing import Any

from . import aws, results
from .capacity import Capacity, stopped_fields
from .config import ApiConfig
from .ecs import task_id
from .logs import LogReader, stream_name
from .statuses import ECS_STATUS, STOPPED
from .store import Store
from .times import now_iso, to_iso
from .validation import RUN_ID_RE

log = logging.getLogger(__name__)


class TaskStateHandler:
    """Record what ECS reports about a run's task, and the run's result once it stopped."""

    def __init__(
        self, settings: ApiConfig, store: Store, logs: LogReader, capacity: Capacity | None = None
    ):
        self.settings = settings
        self.store = store
        self.logs = logs
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
        }
        fields: dict[str, Any] = {}
        if status == STOPPED:
            container = next(
                (
                    c
                    for c in task.get("containers") or []
                    if isinstance(c, dict) and c.get("name") == self.settings.container_name
                ),
                {},
            )
            exit_code = container.get("exitCode")
            fields = {
                "stopped_at": to_iso(task.get("stoppedAt")) or now_iso(),
                "exit_code": exit_code if isinstance(exit_code, int) else None,
                "stopped_reason": str(task.get("stoppedReason") or container.get("reason") or "")[
                    :1000
                ]
                or None,
                "stop_code": task.get("stopCode"),
                **stopped_fields(task),
            }
            restarted = self.capacity.restart(record, task) if self.capacity else None
            if restarted:
                return restarted
        result = self.store.transition(run_id, status, fields, fill)
        if status == STOPPED:
            self.store_result(run_id, record, arn)
        return {
            "run_id": run_id,
            "status": status,
            "applied": result.applied,
            "released_slot": result.released_slot,
        }

    def store_result(
        self, run_id: str, record: dict[str, Any], task_arn: str | None = None
    ) -> str | None:
        """Read the run's ``runtime_end`` from its log stream and store ``result`` on the run.

        Never raises (a result must not fail a state transition): anything that goes wrong is
        stored as ``result: null`` plus a short ``result_error``. A result already stored is
        kept (idempotent under repeated events); returns the error, or None once stored.
        """
        if isinstance(record.get("result"), dict):
            return None
        error: str | None = None
        result: dict[str, Any] | None = None
        try:
            arn = task_arn or record.get("task_arn")
            if not arn:
                raise results.ResultUnavailable("the run has no task")
            stream = stream_name(self.settings.container_name, task_id(str(arn)))
            result = results.read_result(self.logs.tail(stream, results.RESULT_PAGES), run_id)
        except results.ResultUnavailable as exc:
            error = str(exc)
        except Exception as exc:
            code = aws.error_code(exc)
            if code == "ResourceNotFoundException":
                error = "the run's log stream does not exist"
            else:
                log.warning("reading the result of %s failed: %r", run_id, exc)
                error = f"the log stream could not be read ({code or type(exc).__name__})"
        fields = {
            "result": result,
            "result_error": error[: results.REASON_MAX_CHARS] if error else None,
            "result_read_at": now_iso(),
        }
        try:
            self.store.set_result(run_id, fields)
        except Exception as exc:
            log.warning("storing the result of %s failed: %r", run_id, exc)
            return "the result could not be stored"
        if error:
            log.info("run %s has no result: %s", run_id, error)
        return error
