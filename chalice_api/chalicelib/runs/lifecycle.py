"""Starting and stopping runs and sessions: the writes behind POST /v1/runs, /v1/sessions,
POST /v1/runs/{id}/stop and the admin ``stop_all``.

A run and a session take the same path (a session is a task with ECS Exec enabled and no
prompt), so one flag, not a second module, tells them apart. The run record is written (with
its concurrency slot and idempotency claim) before RunTask, so a crash between the two leaves
a PENDING record that the reaper turns into FAILED_TO_START and whose slot it releases -
nothing is orphaned and nothing is lost.

Before any of that, every secret the task will inject must be set (``cloud/key_check.py``):
the run's provider key (a session without a provider takes the first provider whose key is
set) and, for a run with a repository under ``private_repos``, the clone token. Otherwise 409,
with nothing written and no slot taken. RunTask then uses the provider's own task definition,
the only one holding its key (in its model proxy container); a run with a repository uses the
provider's family with the clone container, the only one holding the repository token. Each
container gets its own overrides: the agent its job, the model proxy the run's spend cap
(``max_cost_usd``, at most the setting), the clone container the repository to clone.

A run with a repository also gets, in its agent's overrides only, a presigned URL to save its
session with; a continuation (``continue_from``, ``continuation.py``) clones its parent's
repository at the chain's root commit, and its clone container alone gets a presigned URL to
read the bundle with. That bundle is PUT after the record is written and before RunTask; a
failed PUT fails the run like a failed RunTask (FAILED_TO_START, slot released).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ..cloud import key_check
from ..cloud.artifacts import Artifacts
from ..cloud.ecs import Ecs, RunTaskFailed, check_overrides, exec_command
from ..cloud.logs import LogReader
from ..core import aws
from ..core.config import ApiConfig
from ..core.domains import check_allowed as check_egress_allowed
from ..core.errors import Busy, Conflict, NotFound, TooManyRuns
from ..core.ids import RUN_ID_RE, new_run_id
from ..core.statuses import FAILED_TO_START, PENDING, STARTING, STATUS_RANK, STOPPING, TERMINAL
from ..core.times import now_iso
from ..persistence import idempotency
from ..persistence.creation import CONFLICT_ATTEMPTS
from ..persistence.items import CreateRejected
from ..persistence.store import Store
from .capacity import Capacity, first_capacity, priced, quota_refusal
from .continuation import Continuations
from .egress import RunDomainList
from .request import RunRequest, check_cost_allowed, check_repo_allowed
from .task_overrides import with_urls

log = logging.getLogger(__name__)


class RunLifecycle:
    """Create (record + slot first, then RunTask), replay, stop, stop all."""

    def __init__(
        self,
        settings: ApiConfig,
        store: Store,
        ecs: Ecs,
        egress: RunDomainList | None = None,
        continuations: Continuations | None = None,
    ):
        self.settings = settings
        self.store = store
        self.ecs = ecs
        self.egress = egress or RunDomainList(settings, store)
        self.capacity = Capacity(settings, store, ecs)
        self.continuations = continuations or Continuations(
            settings, store, LogReader(settings.log_group_name), Artifacts(settings.artifact_bucket)
        )

    def create(
        self, subject: str, req: RunRequest, idempotency_key: str | None, interactive: bool
    ) -> tuple[dict[str, Any], bool]:
        """Create a run or session; returns (response body, replayed?)."""
        kind = "session" if interactive else "run"
        # A continuation's parent is checked first (404/400/409); its task then clones the
        # parent's repository at the chain's root commit.
        parent = self.continuations.parent_of(req) if req.continue_from is not None else None
        task_req = req if parent is None else replace(req, repo=parent.repo, ref=parent.root_commit)
        check_repo_allowed(task_req.repo, self.settings.allowed_repos)
        check_egress_allowed(req.egress_domains, self.settings.egress_run_domains_allowed)
        check_cost_allowed(req.max_cost_usd, self.settings.max_run_cost_usd)
        has_repo = task_req.repo is not None
        if req.provider is not None:  # a configuration error is a 500 before anything is written
            self.settings.task_definition_arn(req.provider, has_repo)
        run_id = new_run_id()
        overrides = self.overrides_for(run_id, task_req, parent is not None, interactive)
        check_overrides(overrides)  # 413 before anything is written

        request_hash = idempotency.request_hash(kind, req.canonical())
        key_hash = idempotency.key_hash(subject, idempotency_key) if idempotency_key else None
        if key_hash:
            existing = self.store.get_idempotency(key_hash)
            if existing:
                return self._replay(existing, request_hash), True

        # 409/503 before anything is written: ECS could not start the task anyway.
        provider = key_check.require_task_secrets(self.settings, req.provider, has_repo)
        # The bundle is built (reads only: the parent's log stream and artifacts) before the
        # record, so a parent that cannot be continued takes no slot.
        bundle = self.continuations.bundle(run_id, parent) if parent is not None else None
        record = self._new_record(run_id, kind, subject, provider, task_req)
        if parent is not None:
            record.update(
                {
                    "ref": parent.ref,
                    "parent_run_id": parent.run_id,
                    "root_commit": parent.root_commit,
                }
            )
        claim = (key_hash, request_hash) if key_hash else None
        replayed = self._record(record, claim, parent.run_id if parent else None)
        if replayed is not None:
            return replayed, True
        failure = self._write_bundle(record, bundle) if bundle is not None else None
        if failure is not None:
            return {"run_id": run_id, "status": FAILED_TO_START, "reason": failure}, False
        return self._start(record, task_req, overrides, interactive), False

    def overrides_for(
        self, run_id: str, task_req: RunRequest, continuing: bool, interactive: bool
    ) -> dict[str, Any]:
        """The task's overrides with its presigned URLs (``task_overrides.py``)."""
        return with_urls(
            self.settings, self.continuations, run_id, task_req, continuing, interactive
        )

    def _write_bundle(self, record: dict[str, Any], bundle: bytes) -> str | None:
        """PUT the bundle (the run is recorded, its task not started); on failure the run is
        FAILED_TO_START with the reason returned and its slot released, as after a failed
        RunTask (its parent's claim is released lazily, like any ended continuation's)."""
        run_id = str(record["run_id"])
        try:
            self.continuations.write_bundle(run_id, bundle)
        except Exception as exc:
            code = aws.error_code(exc) or type(exc).__name__
            reason = f"the continuation bundle could not be written to the artifact bucket ({code})"
            log.warning("run %s failed to start: %s", run_id, reason)
            self.store.transition(
                run_id, FAILED_TO_START, {"failure_reason": reason}, current=record
            )
            return reason
        return None

    def _new_record(
        self, run_id: str, kind: str, subject: str, provider: str, req: RunRequest
    ) -> dict[str, Any]:
        """The PENDING run record a create writes (with its slot) before RunTask."""
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
            # What the model proxy refuses to spend beyond (its override; at most the setting).
            "max_cost_usd": req.cost_cap(self.settings.max_run_cost_usd),
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
        return record

    def _record(
        self, record: dict[str, Any], claim: tuple[str, str] | None, continues: str | None = None
    ) -> dict[str, Any] | None:
        """Write the record, its slot, its key's claim (and a continuation's claim on its
        parent); the replayed body when another request with the key won the race, None when
        this one was recorded."""
        try:
            self.store.create_run(record, self.settings.max_concurrent_runs, claim, continues)
        except CreateRejected as exc:
            if exc.reason == "idempotency" and claim:
                existing = self.store.get_idempotency(claim[0])
                if existing:
                    return self._replay(existing, claim[1])
                raise Conflict("a request with this Idempotency-Key is in progress") from None
            if exc.reason == "continuation":
                if exc.holder:
                    raise Conflict(
                        f"run {continues} already has a continuation running: {exc.holder}; "
                        "retry once it stopped"
                    ) from None
                raise Conflict(f"run {continues} changed meanwhile; retry") from None
            if exc.reason == "conflict":
                busy = f"the create collided with other writes {CONFLICT_ATTEMPTS} times"
                raise Busy(f"the run table was busy: {busy}; nothing was recorded, retry") from None
            if exc.reason == "capacity":
                raise TooManyRuns(
                    f"concurrency limit reached: {self.settings.max_concurrent_runs} runs are "
                    "active; retry after one finishes or stop one"
                ) from None
            raise
        return None

    def _start(
        self, record: dict[str, Any], req: RunRequest, overrides: dict[str, Any], interactive: bool
    ) -> dict[str, Any]:
        """Open the run's egress domains and start its task (the run is recorded)."""
        run_id = str(record["run_id"])
        # On failure the run is failed and a 503 raised (egress.py).
        self.egress.open_for_run(run_id, req.egress_domains)
        try:
            task_arn = self.capacity.start(
                run_id, str(record["provider"]), overrides, interactive, repo=req.repo is not None
            )
        except RunTaskFailed as exc:
            log.warning("run %s failed to start: %s", run_id, exc.reason)
            self.store.transition(
                run_id, FAILED_TO_START, {"failure_reason": exc.reason}, current=record
            )
            if req.egress_domains:
                self.egress.release(run_id)
            refusal = quota_refusal(run_id, exc)
            if refusal:
                raise refusal from None
            return {"run_id": run_id, "status": FAILED_TO_START, "reason": exc.reason}
        moved = self.store.transition(
            run_id, STARTING, {"task_arn": task_arn}, {"task_arn": task_arn}, current=record
        )
        body = {"run_id": run_id, "status": moved.status or STARTING}
        if interactive:
            body["task_arn"] = task_arn
            body["exec_command"] = exec_command(self.settings, task_arn)
        return body

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
