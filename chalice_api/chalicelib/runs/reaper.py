"""The reaper: the scheduled backstop for everything the event stream can miss.

ECS events can be lost, a create can crash between the record and RunTask, and a task can
outlive its ``max_runtime_seconds`` if its own timer fails. Every few minutes this stops
tasks past their cap + grace (and tasks without an active record), fails stale PENDING
records (releasing their slot), reconciles recent records whose task is gone or whose
result could not be read yet, reads the blocked names of runs again once late query-log
records have arrived, and drops per-run egress domains no active run holds any more. One
bad task or record is logged and skipped, never fatal.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from ..cloud.ecs import Ecs
from ..core.config import HARD_MAX_RUNTIME_SECONDS, ApiConfig
from ..core.ids import RUN_ID_RE
from ..core.statuses import FAILED_TO_START, PENDING, STOPPED, STOPPING, TERMINAL
from ..core.times import now_iso, parse_time, to_iso
from ..persistence.store import Store
from .task_state import TaskStateHandler

log = logging.getLogger(__name__)

PENDING_STALE_SECONDS = 300
RECONCILE_WINDOW_SECONDS = 24 * 3600
RECONCILE_MAX_ITEMS = 1000
# A result that could not be read when the task stopped (log not flushed yet) is retried by
# the reaper for this long after the stop.
RESULT_RETRY_SECONDS = 3600
# Query-log records reach the log group some time after the query: blocked names read at the
# stop are read once more when the reaper sees the run this long after it stopped.
QUERY_LOG_DELAY_SECONDS = 300


class Reaper:
    """Stop overdue or orphaned tasks; repair records the event stream left behind."""

    def __init__(self, settings: ApiConfig, store: Store, ecs: Ecs, task_state: TaskStateHandler):
        self.settings = settings
        self.store = store
        self.ecs = ecs
        self.task_state = task_state

    def limit_seconds(self, record: dict[str, Any]) -> tuple[int, int]:
        """(max runtime, grace) for a record, each clamped to the hard maximum.

        A record's ``max_runtime_seconds`` is validated when written, but the table is not the
        place to trust: a missing, non-integer or out-of-range value means the hard maximum.
        """
        raw = record.get("max_runtime_seconds")
        runtime = HARD_MAX_RUNTIME_SECONDS
        if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
            runtime = min(raw, HARD_MAX_RUNTIME_SECONDS)
        grace = min(max(int(self.settings.stop_grace_seconds), 0), HARD_MAX_RUNTIME_SECONDS)
        return runtime, grace

    def reap(self, now: float | None = None) -> dict[str, Any]:
        """Stop tasks past their cap + grace, and reconcile records whose events were lost.

        One task or record that cannot be handled (an unreadable record, a failed call) is
        logged and skipped; the rest are still reaped.
        """
        now = time.time() if now is None else now
        stopped: list[dict[str, Any]] = []
        skipped: list[str] = []
        for task in self.ecs.running_tasks():
            run_id = task.get("startedBy")
            if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
                continue
            try:
                entry = self._reap_task(task, run_id, now)
            except Exception as exc:
                log.warning("reaper skipped run %s: %r", run_id, exc)
                skipped.append(run_id)
                continue
            if entry:
                stopped.append(entry)
        reconciled = self._reconcile(now, skipped)
        out: dict[str, Any] = {"stopped": stopped, "reconciled": reconciled}
        try:
            egress = self.task_state.egress.prune()
            if any(egress.values()):
                out["egress"] = egress
        except Exception as exc:
            log.warning("reaper could not sync the egress domain list: %r", exc)
        if skipped:
            out["skipped"] = skipped
        return out

    def _reap_task(self, task: dict[str, Any], run_id: str, now: float) -> dict[str, Any] | None:
        record = self.store.get_run(run_id)
        # ECS always reports createdAt; the record's creation time (written just before
        # RunTask) is the fallback when a task description lacks both timestamps.
        began = task.get("startedAt") or task.get("createdAt") or (record or {}).get("created_at")
        began_dt = parse_time(to_iso(began))
        age = now - began_dt.timestamp() if began_dt else 0.0
        active = record is not None and record.get("status") not in TERMINAL
        if not active:
            reason = "cloudagent reaper: task has no active run record"
        else:
            runtime, grace = self.limit_seconds(record)
            if age <= runtime + grace:
                return None
            reason = f"cloudagent reaper: exceeded max runtime {runtime}s + grace {grace}s"
        try:
            self.ecs.stop_task(task["taskArn"], reason)
        except Exception as exc:
            log.warning("reaper could not stop %s: %s", task.get("taskArn"), exc)
            return None
        if active:
            self.store.set_fields(run_id, {"reaped_reason": reason, "reaped_at": now_iso()})
            self.store.transition(run_id, STOPPING, {})
        return {"run_id": run_id, "task_arn": task["taskArn"], "reason": reason}

    def _reconcile(self, now: float, skipped: list[str] | None = None) -> list[dict[str, Any]]:
        """Fix records the event stream left behind: stale PENDING, tasks that are gone, and
        stopped runs whose result could not be read yet."""
        out: list[dict[str, Any]] = []
        start: dict[str, str] | None = None
        seen = 0
        cutoff = now - RECONCILE_WINDOW_SECONDS
        while seen < RECONCILE_MAX_ITEMS:
            items, start = self.store.list_runs(100, start)
            seen += len(items)
            old = False
            for item in items:
                try:
                    created = parse_time(item.get("created_at"))
                    if created and created.timestamp() < cutoff:
                        old = True
                        break
                    entry = self._reconcile_one(item, created, now)
                except Exception as exc:
                    run_id = str(item.get("run_id") or item.get("pk") or "?")[:80]
                    log.warning("reaper skipped record %s: %r", run_id, exc)
                    if skipped is not None:
                        skipped.append(run_id)
                    continue
                if entry:
                    out.append(entry)
            if old or not start:
                break
        return out

    def _reconcile_one(
        self, item: dict[str, Any], created: datetime | None, now: float
    ) -> dict[str, Any] | None:
        run_id = str(item["run_id"])
        if not RUN_ID_RE.fullmatch(run_id):
            raise ValueError("record has no valid run_id")
        if item.get("status") in TERMINAL:
            stopped = parse_time(item.get("stopped_at"))
            recent = stopped and now - stopped.timestamp() <= RESULT_RETRY_SECONDS
            if recent and item.get("status") == STOPPED and self._blocked_stale(item, now):
                self.task_state.finish_egress(run_id, reread=True)
            missing = item.get("status") == STOPPED and item.get("result") is None
            if missing and recent and self.task_state.store_result(run_id, item) is None:
                return {"run_id": run_id, "status": STOPPED, "result": "stored"}
            return None
        arn = item.get("task_arn")
        if not arn:
            age = now - created.timestamp() if created else 0
            if item.get("status") == PENDING and age > PENDING_STALE_SECONDS:
                reason = "no task was started (the create request did not complete)"
                self.store.transition(run_id, FAILED_TO_START, {"failure_reason": reason})
                return {"run_id": run_id, "status": FAILED_TO_START}
            return None
        described = self.ecs.describe([str(arn)])
        if not described:
            self.store.transition(
                run_id,
                STOPPED,
                {"stopped_at": now_iso(), "stopped_reason": "task not found by reaper"},
            )
            self.task_state.store_result(run_id, item, str(arn))
            self.task_state.finish_egress(run_id)
            return {"run_id": run_id, "status": STOPPED}
        if described[0].get("lastStatus") == "STOPPED":
            self.task_state.apply_task_state(described[0])
            return {"run_id": run_id, "status": STOPPED}
        return None

    @staticmethod
    def _blocked_stale(item: dict[str, Any], now: float) -> bool:
        """Whether a stopped run's blocked names were read (or tried) before late query-log
        records could have arrived, and enough time has passed to read them all now."""
        stopped = parse_time(item.get("stopped_at"))
        if stopped is None or now - stopped.timestamp() < QUERY_LOG_DELAY_SECONDS:
            return False
        read = parse_time(item.get("blocked_domains_read_at"))
        return read is None or read.timestamp() - stopped.timestamp() < QUERY_LOG_DELAY_SECONDS
