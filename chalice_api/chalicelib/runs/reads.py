"""What the GET routes answer: a run's public view, the list, its events and its patch.

Reads never write: the public shape is computed from the stored record (cost from stored
times and the hourly price the run was created with), and events and patches come straight
from the run's log stream, so answering a GET can not change a run.
"""

from __future__ import annotations

import json
from typing import Any

from ..cloud.ecs import exec_command, task_id
from ..cloud.logs import LogReader, stream_name
from ..core.config import ApiConfig
from ..core.errors import BadRequest, NotFound, PayloadTooLarge
from ..core.statuses import STOPPED, TERMINAL
from ..persistence.page_tokens import encode_token
from ..persistence.store import RUNS_PARTITION, Store
from . import cost, patches, results

PUBLIC_FIELDS = (
    "run_id",
    "kind",
    "status",
    "provider",
    "model",
    "repo",
    "ref",
    "parent_run_id",
    "root_commit",
    "max_runtime_seconds",
    "max_cost_usd",
    "budget_exceeded",
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
    "egress_domains",
    "blocked_domains",
    "alerted_domains",
    "blocked_domains_truncated",
    "blocked_domains_error",
    "capacity_used",
    "fallback_reason",
    "interrupted",
)
# Up to 100 names of up to 253 characters each: left out of the list view like final_message.
DETAIL_ONLY = ("blocked_domains", "alerted_domains")


class RunReads:
    """GET /v1/runs, /v1/runs/{id}, /v1/runs/{id}/events and /v1/runs/{id}/patch."""

    def __init__(self, settings: ApiConfig, store: Store, logs: LogReader):
        self.settings = settings
        self.store = store
        self.logs = logs

    def view(self, record: dict[str, Any], *, with_prompt: bool = True) -> dict[str, Any]:
        """The public shape of a run record (what GET returns).

        The list view (``with_prompt=False``) leaves out the prompt and the result's
        ``final_message`` (up to 64 KiB each) and the blocked names, so a page of 100 runs
        stays small.
        """
        out: dict[str, Any] = {k: record.get(k) for k in PUBLIC_FIELDS}
        if not with_prompt:
            for key in DETAIL_ONLY:
                del out[key]
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
        # A run without a result (its agent died before runtime_end) is billed what the
        # proxy metered for it.
        model = results.model_cost(result or {"usage": record.get("metered_usage")})
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

    def get(self, run_id: str) -> dict[str, Any]:
        """One run, or 404."""
        record = self.store.get_run(run_id)
        if record is None:
            raise NotFound("run not found")
        return self.view(record)

    def list(self, limit: int, start: dict[str, str] | None) -> dict[str, Any]:
        """A page of runs, newest first."""
        if start is not None and (
            start.get("gsi1pk") != RUNS_PARTITION or not start.get("pk", "").startswith("RUN#")
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
        if status != STOPPED:
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
        try:
            text = patches.read_patch(self.settings, self.logs, record, chunks)
        except patches.PatchUnavailable as exc:
            raise NotFound(f"no patch: {exc}") from None
        if len(json.dumps(text)) > limit:
            raise PayloadTooLarge(too_large, code="patch_too_large")
        return text, meta
