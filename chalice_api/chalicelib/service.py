"""The run service: what each route, the ECS event handler, the reaper and admin actually do.

The run record is the source of truth. It is written (with its concurrency slot) before
RunTask, so a crash between the two leaves a PENDING record that the reaper turns into
FAILED_TO_START and whose slot it releases - nothing is orphaned and nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from . import aws, cost, results
from .config import HARD_MAX_RUNTIME_SECONDS, Settings
from .ecs import Ecs, RunTaskFailed, container_overrides, exec_command, task_id
from .errors import BadRequest, Conflict, NotFound, PayloadTooLarge, TooManyRuns
from .gitref import repo_url
from .ids import new_run_id
from .logs import LogReader, stream_name
from .store import TERMINAL, CreateRejected, Store, now_iso
from .validation import (
    RUN_ID_RE,
    RunRequest,
    check_overrides,
    check_repo_allowed,
    encode_token,
)

log = logging.getLogger(__name__)

ECS_STATUS = {
    "PROVISIONING": "STARTING",
    "PENDING": "STARTING",
    "ACTIVATING": "STARTING",
    "RUNNING": "RUNNING",
    "DEACTIVATING": "STOPPING",
    "STOPPING": "STOPPING",
    "DEPROVISIONING": "STOPPING",
    "STOPPED": "STOPPED",
}
PENDING_STALE_SECONDS = 300
RECONCILE_WINDOW_SECONDS = 24 * 3600
RECONCILE_MAX_ITEMS = 1000
LIST_KEYS = {"pk", "sk", "gsi1pk", "gsi1sk"}
# A result that could not be read when the task stopped (log not flushed yet) is retried by
# the reaper for this long after the stop.
RESULT_RETRY_SECONDS = 3600

PUBLIC_FIELDS = (
    "run_id",
    "kind",
    "status",
    "provider",
    "model",
    "repo",
    "ref",
    "max_runtime_seconds",
    "created_at",
    "created_by",
    "task_arn",
    "started_at",
    "stopped_at",
    "exit_code",
    "stopped_reason",
    "stop_code",
    "failure_reason",
    "stop_requested_at",
    "stop_requested_by",
    "reaped_reason",
    "result_error",
)


def _iso(value: Any) -> str | None:
    """ECS timestamps arrive as ISO text (EventBridge) or datetimes (boto3); store ISO text."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        dt = cost.parse_time(str(value))
        if dt is None:
            return None
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RunService:
    """Operations on runs for one deployment (settings + table + cluster)."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        ecs: Ecs | None = None,
        logs: LogReader | None = None,
    ):
        self.settings = settings
        self.store = store or Store(settings.table_name)
        self.ecs = ecs or Ecs(settings)
        self.logs = logs or LogReader(settings.log_group_name)

    # -- views -----------------------------------------------------------------------------

    def view(self, record: dict[str, Any], *, with_prompt: bool = True) -> dict[str, Any]:
        """The public shape of a run record (what GET returns).

        The list view (``with_prompt=False``) leaves out the prompt and the result's
        ``final_message`` (up to 64 KiB each) so a page of 100 runs stays small.
        """
        out: dict[str, Any] = {k: record.get(k) for k in PUBLIC_FIELDS}
        if with_prompt and record.get("kind") == "run":
            out["prompt"] = record.get("prompt")
        result = record.get("result") if isinstance(record.get("result"), dict) else None
        if result is not None and not with_prompt:
            result = {k: v for k, v in result.items() if k != "final_message"}
        out["result"] = result
        duration, compute = cost.estimate(
            record.get("billing_started_at") or record.get("started_at"),
            record.get("stopped_at"),
            record.get("hourly_cost_usd"),
        )
        model = results.model_cost(result)
        out["duration_seconds"] = duration
        out["compute_cost_usd"] = compute
        out["model_cost_usd"] = model
        out["estimated_cost_usd"] = cost.total(compute, model)
        if (
            record.get("kind") == "session"
            and record.get("task_arn")
            and record.get("status") not in TERMINAL
        ):
            out["exec_command"] = exec_command(self.settings, record["task_arn"])
        return out

    # -- create ----------------------------------------------------------------------------

    def create(
        self, subject: str, req: RunRequest, idempotency_key: str | None, interactive: bool
    ) -> tuple[dict[str, Any], bool]:
        """Create a run or session; returns (response body, replayed?)."""
        kind = "session" if interactive else "run"
        check_repo_allowed(req.repo, self.settings.allowed_repos)
        run_id = new_run_id()
        env = {"RUN_ID": run_id, "AGENT_MAX_RUNTIME_SECONDS": str(req.max_runtime_seconds)}
        if req.provider and req.model:
            env["AGENT_PROVIDER"] = req.provider
            env["AGENT_MODEL"] = req.model
        if req.prompt is not None:
            env["JOB_PROMPT"] = req.prompt
        if req.repo is not None:
            env["AGENT_REPO_URL"] = repo_url(req.repo)
            if req.ref is not None:
                env["AGENT_REPO_REF"] = req.ref
        overrides = container_overrides(self.settings, env)
        check_overrides(overrides)  # 413 before anything is written

        request_hash = _sha256(kind + "\n" + req.canonical())
        key_hash = _sha256(subject + "\n" + idempotency_key) if idempotency_key else None
        if key_hash:
            existing = self.store.get_idempotency(key_hash)
            if existing:
                return self._replay(existing, request_hash), True

        record: dict[str, Any] = {
            "run_id": run_id,
            "kind": kind,
            "status": "PENDING",
            "status_rank": 0,
            "slot_held": True,
            "provider": req.provider,
            "model": req.model,
            "max_runtime_seconds": req.max_runtime_seconds,
            "created_at": now_iso(),
            "updated_at": now_iso(),
            "created_by": subject,
            "hourly_cost_usd": self.settings.task_hourly_cost_usd,
        }
        if req.prompt is not None:
            record["prompt"] = req.prompt
        if req.repo is not None:
            record["repo"] = req.repo
            record["ref"] = req.ref
        try:
            self.store.create_run(
                record,
                self.settings.max_concurrent_runs,
                (key_hash, request_hash) if key_hash else None,
            )
        except CreateRejected as exc:
            if exc.reason == "idempotency" and key_hash:
                existing = self.store.get_idempotency(key_hash)
                if existing:
                    return self._replay(existing, request_hash), True
                raise Conflict("a request with this Idempotency-Key is in progress") from None
            if exc.reason == "capacity":
                raise TooManyRuns(
                    f"concurrency limit reached: {self.settings.max_concurrent_runs} runs are "
                    "active; retry after one finishes or stop one"
                ) from None
            raise

        try:
            task_arn = self.ecs.run_task(run_id, overrides, interactive)
        except RunTaskFailed as exc:
            log.warning("run %s failed to start: %s", run_id, exc.reason)
            self.store.transition(run_id, "FAILED_TO_START", {"failure_reason": exc.reason})
            body = {"run_id": run_id, "status": "FAILED_TO_START", "reason": exc.reason}
            return body, False
        self.store.transition(run_id, "STARTING", {"task_arn": task_arn}, {"task_arn": task_arn})
        current = self.store.get_run(run_id) or {}
        body = {"run_id": run_id, "status": current.get("status", "STARTING")}
        if interactive:
            body["task_arn"] = task_arn
            body["exec_command"] = exec_command(self.settings, task_arn)
        return body, False

    def _replay(self, existing: dict[str, Any], request_hash: str) -> dict[str, Any]:
        if existing.get("request_hash") != request_hash:
            raise Conflict("this Idempotency-Key was already used with a different request")
        record = self.store.get_run(str(existing["run_id"])) or {}
        body: dict[str, Any] = {
            "run_id": existing["run_id"],
            "status": record.get("status", "PENDING"),
        }
        if record.get("failure_reason"):
            body["reason"] = record["failure_reason"]
        if record.get("kind") == "session" and record.get("task_arn"):
            body["task_arn"] = record["task_arn"]
            body["exec_command"] = exec_command(self.settings, record["task_arn"])
        return body

    # -- reads -----------------------------------------------------------------------------

    def get(self, run_id: str) -> dict[str, Any]:
        """One run, or 404."""
        record = self.store.get_run(run_id)
        if record is None:
            raise NotFound("run not found")
        return self.view(record)

    def list(self, limit: int, start: dict[str, str] | None) -> dict[str, Any]:
        """A page of runs, newest first."""
        if start is not None and (
            start.get("gsi1pk") != "RUNS" or not start.get("pk", "").startswith("RUN#")
        ):
            raise BadRequest("next_token is not valid")
        items, next_key = self.store.list_runs(limit, start)
        return {
            "runs": [self.view(i, with_prompt=False) for i in items],
            "next_token": encode_token(next_key) if next_key else None,
        }

    def events(self, run_id: str, token: str | None, limit: int) -> dict[str, Any]:
        """A page of the run's agent log events (empty until the task has a log stream)."""
        record = self.store.get_run(run_id)
        if record is None:
            raise NotFound("run not found")
        arn = record.get("task_arn")
        if not arn:
            return {"run_id": run_id, "events": [], "next_token": None, "end_of_stream": True}
        stream = stream_name(self.settings.container_name, task_id(arn))
        page = self.logs.page(stream, token, limit)
        return {"run_id": run_id, **page}

    def patch(self, run_id: str) -> tuple[str, dict[str, Any]]:
        """The run's assembled patch and its metadata; 404 with a reason, or 413 when larger
        than a Lambda response can carry (the patch events stay readable via /events)."""
        record = self.store.get_run(run_id)
        if record is None:
            raise NotFound("run not found")
        status = record.get("status")
        if status != "STOPPED":
            raise NotFound(f"no patch: the run is {status}; a patch is available once it stopped")
        result = record.get("result")
        if not isinstance(result, dict):
            reason = record.get("result_error") or "not read yet"
            raise NotFound(f"no patch: the run has no result ({reason})")
        meta = result.get("patch")
        chunks = meta.get("chunks") if isinstance(meta, dict) else None
        if not isinstance(chunks, int) or chunks < 1 or not record.get("task_arn"):
            raise NotFound("no patch: the run had no repository or made no change")
        limit = results.PATCH_RESPONSE_MAX_BYTES
        too_large = (
            f"the patch is larger than this endpoint returns ({limit} bytes); "
            f"read its patch events (type patch, in seq order) from GET /v1/runs/{run_id}/events"
        )
        if int(meta.get("bytes") or 0) > limit:
            raise PayloadTooLarge(too_large, code="patch_too_large")
        stream = stream_name(self.settings.container_name, task_id(str(record["task_arn"])))
        try:
            text = results.assemble_patch(
                self.logs.tail(stream, results.PATCH_PAGES), run_id, chunks
            )
        except results.PatchIncomplete as exc:
            shown = ", ".join(str(i) for i in exc.missing[:10])
            raise NotFound(
                f"no patch: {len(exc.missing)} of {chunks} chunk(s) are missing from the log "
                f"stream (seq {shown})"
            ) from None
        except Exception as exc:
            if aws.error_code(exc) == "ResourceNotFoundException":
                raise NotFound("no patch: the run's log stream does not exist") from None
            raise
        if len(json.dumps(text)) > limit:
            raise PayloadTooLarge(too_large, code="patch_too_large")
        return text, meta

    # -- stop ------------------------------------------------------------------------------

    def stop(self, run_id: str, requested_by: str) -> dict[str, Any]:
        """Ask ECS to stop the run's task; the ECS event later records STOPPED."""
        record = self.store.get_run(run_id)
        if record is None:
            raise NotFound("run not found")
        if record.get("status") in TERMINAL:
            raise Conflict("run has already finished")
        arn = record.get("task_arn")
        if not arn:
            raise Conflict("run has no task yet; retry in a few seconds")
        try:
            self.ecs.stop_task(arn, f"stopped via API by {requested_by}")
        except Exception as exc:
            log.warning("StopTask for %s failed: %s", run_id, type(exc).__name__)
            raise Conflict("the task could not be stopped; it may have finished") from None
        self.store.transition(
            run_id, "STOPPING", {"stop_requested_at": now_iso(), "stop_requested_by": requested_by}
        )
        current = self.store.get_run(run_id) or {}
        return {"run_id": run_id, "status": current.get("status", "STOPPING")}

    # -- ECS task state change -------------------------------------------------------------

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
            "started_at": _iso(task.get("startedAt")),
            "billing_started_at": _iso(task.get("pullStartedAt") or task.get("startedAt")),
        }
        fields: dict[str, Any] = {}
        if status == "STOPPED":
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
                "stopped_at": _iso(task.get("stoppedAt")) or now_iso(),
                "exit_code": exit_code if isinstance(exit_code, int) else None,
                "stopped_reason": str(task.get("stoppedReason") or container.get("reason") or "")[
                    :1000
                ]
                or None,
                "stop_code": task.get("stopCode"),
            }
        result = self.store.transition(run_id, status, fields, fill)
        if status == "STOPPED":
            self.store_result(run_id, record, arn)
        return {
            "run_id": run_id,
            "status": status,
            "applied": result.applied,
            "released_slot": result.released_slot,
        }

    # -- result ----------------------------------------------------------------------------

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

    # -- reaper ----------------------------------------------------------------------------

    def _limit_seconds(self, record: dict[str, Any]) -> tuple[int, int]:
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
        if skipped:
            out["skipped"] = skipped
        return out

    def _reap_task(self, task: dict[str, Any], run_id: str, now: float) -> dict[str, Any] | None:
        record = self.store.get_run(run_id)
        # ECS always reports createdAt; the record's creation time (written just before
        # RunTask) is the fallback when a task description lacks both timestamps.
        began = task.get("startedAt") or task.get("createdAt") or (record or {}).get("created_at")
        began_dt = cost.parse_time(_iso(began))
        age = now - began_dt.timestamp() if began_dt else 0.0
        active = record is not None and record.get("status") not in TERMINAL
        if not active:
            reason = "cloudagent reaper: task has no active run record"
        else:
            runtime, grace = self._limit_seconds(record)
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
            self.store.transition(run_id, "STOPPING", {})
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
                    created = cost.parse_time(item.get("created_at"))
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
            if item.get("status") == "STOPPED" and item.get("result") is None:
                stopped = cost.parse_time(item.get("stopped_at"))
                recent = stopped and now - stopped.timestamp() <= RESULT_RETRY_SECONDS
                if recent and self.store_result(run_id, item) is None:
                    return {"run_id": run_id, "status": "STOPPED", "result": "stored"}
            return None
        arn = item.get("task_arn")
        if not arn:
            age = now - created.timestamp() if created else 0
            if item.get("status") == "PENDING" and age > PENDING_STALE_SECONDS:
                reason = "no task was started (the create request did not complete)"
                self.store.transition(run_id, "FAILED_TO_START", {"failure_reason": reason})
                return {"run_id": run_id, "status": "FAILED_TO_START"}
            return None
        described = self.ecs.describe([str(arn)])
        if not described:
            self.store.transition(
                run_id,
                "STOPPED",
                {"stopped_at": now_iso(), "stopped_reason": "task not found by reaper"},
            )
            self.store_result(run_id, item, str(arn))
            return {"run_id": run_id, "status": "STOPPED"}
        if described[0].get("lastStatus") == "STOPPED":
            self.apply_task_state(described[0])
            return {"run_id": run_id, "status": "STOPPED"}
        return None

    # -- admin -----------------------------------------------------------------------------

    def stop_all(self, requested_by: str) -> dict[str, Any]:
        """Stop every running task of this cluster that has a run record in the table."""
        stopped: list[str] = []
        for task in self.ecs.running_tasks():
            run_id = task.get("startedBy")
            if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
                continue
            record = self.store.get_run(run_id)
            if record is None:
                continue
            self.ecs.stop_task(task["taskArn"], f"stopped by {requested_by}")
            if record.get("status") not in TERMINAL:
                self.store.transition(
                    run_id,
                    "STOPPING",
                    {"stop_requested_at": now_iso(), "stop_requested_by": requested_by},
                )
            stopped.append(run_id)
        return {"stopped": stopped, "count": len(stopped)}
