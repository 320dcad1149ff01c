"""Starting and stopping runs and sessions: the writes behind POST /v1/runs, /v1/sessions,
POST /v1/runs/{id}/stop and the admin ``stop_all``.

A run and a session take the same path (a session is a task with ECS Exec enabled and no
prompt), so one flag, not a second module, tells them apart. The run record is written (with
its concurrency slot and idempotency claim) before RunTask, so a crash between the two leaves
a PENDING record that the reaper turns into FAILED_TO_START and whose slot it releases -
nothing is orphaned and nothing is lost.

Before any of that, every secret the task will inject must be set (``key_check.py``): the run's
provider key (a session without a provider takes the first provider whose key is set) and,
with ``private_repos``, the clone token. Otherwise 409, with nothing written and no slot taken.
RunTask then uses the provider's own task definition, the only one holding its key.
"""

from __future__ import annotations

import logging
from typing import Any

from . import idempotency, key_check
from .capacity import Capacity, first_capacity, priced, quota_refusal
from .config import ApiConfig
from .domains import check_allowed as check_egress_allowed
from .ecs import Ecs, RunTaskFailed, container_overrides, exec_command
from .egress_list import RunDomainList
from .errors import Conflict, NotFound, TooManyRuns
from .gitref import repo_url
from .ids import new_run_id
from .statuses import FAILED_TO_START, PENDING, STARTING, STATUS_RANK, STOPPING, TERMINAL
from .store import CreateRejected, Store
from .times import now_iso
from .validation import RUN_ID_RE, RunRequest, check_overrides, check_repo_allowed

log = logging.getLogger(__name__)


class RunLifecycle:
    """Create (record + slot first, then RunTask), replay, stop, stop all."""

    def __init__(
        self, settings: ApiConfig, store: Store, ecs: Ecs, egress: RunDomainList | None = None
    ):
        self.settings = settings
        self.store = store
        self.ecs = ecs
        self.egress = egress or RunDomainList(settings, store)
        self.capacity = Capacity(settings, store, ecs)

    def create(
        self, subject: str, req: RunRequest, idempotency_key: str | None, interactive: bool
    ) -> tuple[dict[str, Any], bool]:
        """Create a run or session; returns (response body, replayed?)."""
        kind = "session" if interactive else "run"
        check_repo_allowed(req.repo, self.settings.allowed_repos)
        check_egress_allowed(req.egress_domains, self.settings.egress_run_domains_allowed)
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

        request_hash = idempotency.request_hash(kind, req.canonical())
        key_hash = idempotency.key_hash(subject, idempotency_key) if idempotency_key else None
        if key_hash:
            existing = self.store.get_idempotency(key_hash)
            if existing:
                return self._replay(existing, request_hash), True

        # 409/503 before anything is written: ECS could not start the task anyway.
        provider = key_check.require_task_secrets(self.settings, req.provider)

        record: dict[str, Any] = {
            "run_id": run_id,
            "kind": kind,
            "status": PENDING,
            "status_rank": STATUS_RANK[PENDING],
            "slot_held": True,
            # A session without a provider records the one whose task (and key) it got.
            "provider": provider,
            "model": req.model,
            "max_runtime_seconds": req.max_runtime_seconds,
            "created_at": now_iso(),
            "updated_at": now_iso(),
            "created_by": subject,
            **priced(self.settings, first_capacity(self.settings)),
        }
        if req.prompt is not None:
            record["prompt"] = req.prompt
        if req.repo is not None:
            record["repo"] = req.repo
            record["ref"] = req.ref
        if req.egress_domains:
            record["egress_domains"] = list(req.egress_domains)
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

        # Recorded above; on failure the run is failed and a 503 raised (egress_list.py).
        self.egress.open_for_run(run_id, req.egress_domains)
        try:
            task_arn = self.capacity.start(run_id, provider, overrides, interactive)
        except RunTaskFailed as exc:
            log.warning("run %s failed to start: %s", run_id, exc.reason)
            self.store.transition(run_id, FAILED_TO_START, {"failure_reason": exc.reason})
            if req.egress_domains:
                self.egress.release(run_id)
            refusal = quota_refusal(run_id, exc)
            if refusal:
                raise refusal from None
            body = {"run_id": run_id, "status": FAILED_TO_START, "reason": exc.reason}
            return body, False
        moved = self.store.transition(
            run_id, STARTING, {"task_arn": task_arn}, {"task_arn": task_arn}, current=record
        )
        body = {"run_id": run_id, "status": moved.status or STARTING}
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
            "status": record.get("status", PENDING),
        }
        if record.get("failure_reason"):
            body["reason"] = record["failure_reason"]
        if record.get("kind") == "session" and record.get("task_arn"):
            body["task_arn"] = record["task_arn"]
            body["exec_command"] = exec_command(self.settings, record["task_arn"])
        return body

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
        moved = self.store.transition(
            run_id,
            STOPPING,
            {"stop_requested_at": now_iso(), "stop_requested_by": requested_by},
            current=record,
        )
        return {"run_id": run_id, "status": moved.status or STOPPING}

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
                    STOPPING,
                    {"stop_requested_at": now_iso(), "stop_requested_by": requested_by},
                )
            stopped.append(run_id)
        return {"stopped": stopped, "count": len(stopped)}
