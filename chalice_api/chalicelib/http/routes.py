"""The REST routes: origin check, authentication, request validation, then the runs layer.

Each route validates its request (``validation.py``), calls the part of
:class:`~chalicelib.runs.deployment.Runs` that owns the operation, and answers JSON
(``responses.py``). Registered on the app in ``app.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from ..core import config as cfg
from ..persistence.page_tokens import decode_token
from ..runs.deployment import current as runs
from . import auth, origin
from . import validation as v
from .openapi import document
from .responses import SECURITY_HEADERS, answering_errors, in_our_shape, json_response

routes = Blueprint(__name__)


@routes.middleware("http")
def guard(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Origin check first, then the view; every error leaves in the one JSON error shape.

    The origin header is checked for every route, /v1/health included, so a direct call to
    the execute-api endpoint gets 403 no matter which path it tries. Without the secret's ARN
    every route answers 403 (fail closed) unless ``ORIGIN_VERIFY=off`` is set explicitly.
    """

    def checked() -> Response:
        settings = cfg.get()
        origin.check(
            settings.origin_verify_secret_arn,
            event.headers.get(origin.HEADER),
            off=settings.origin_verify_off,
        )
        return get_response(event)

    return in_our_shape(answering_errors(checked, routes.log))


def _subject() -> str:
    s = cfg.get()
    verifier = auth.verifier_for(
        s.oidc_issuer,
        s.oidc_jwks_url,
        s.oidc_audience,
        s.oidc_allowed_subjects,
        s.oidc_repository_id,
        auth.Origin(ref=s.oidc_ref, job_workflow_refs=s.oidc_job_workflow_refs),
    )
    return verifier.verify_header(routes.current_request.headers.get("authorization")).subject


def api(require_auth: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Wrap a view: authenticate, turn errors into their response, JSON-encode the result."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Response:
            def call() -> Any:
                if require_auth:
                    kwargs["subject"] = _subject()
                return view(*args, **kwargs)

            result = answering_errors(call, routes.log, f" in {view.__name__}")
            return result if isinstance(result, Response) else json_response(200, result)

        return inner

    return wrap


def _query(allowed: set[str]) -> dict[str, str]:
    params = routes.current_request.query_params or {}
    return v.check_query({k: params[k] for k in params}, allowed)


@routes.route("/v1/health", methods=["GET"])
@api(require_auth=False)
def health() -> dict[str, Any]:
    """Liveness plus version and stage; loads the settings so misconfiguration shows here."""
    s = cfg.get()
    return {"status": "ok", "version": s.app_version, "stage": s.app_stage}


@routes.route("/v1/openapi.json", methods=["GET"])
@api(require_auth=False)
def openapi() -> dict[str, Any]:
    """The OpenAPI 3 document of this API."""
    return document()


@routes.route("/v1/runs", methods=["POST"])
@api()
def create_run(subject: str) -> Response:
    """Start a headless agent run."""
    return _start_task(subject, interactive=False)


@routes.route("/v1/runs", methods=["GET"])
@api()
def list_runs(subject: str) -> dict[str, Any]:
    """Runs, newest first, paged with next_token."""
    q = _query({"limit", "next_token"})
    start = decode_token(q.get("next_token"), {"pk", "sk", "gsi1pk", "gsi1sk"})
    return runs().reads.list(v.parse_limit(q.get("limit")), start)


@routes.route("/v1/runs/{run_id}", methods=["GET"])
@api()
def get_run(run_id: str, subject: str) -> dict[str, Any]:
    """One run with its times, exit code, result and cost estimate."""
    _query(set())
    return runs().reads.get(v.validate_run_id(run_id))


@routes.route("/v1/runs/{run_id}/events", methods=["GET"])
@api()
def run_events(run_id: str, subject: str) -> dict[str, Any]:
    """A page of the run's agent events from CloudWatch Logs."""
    q = _query({"limit", "next_token"})
    rid = v.validate_run_id(run_id)
    token = v.validate_log_token(q.get("next_token"))
    return runs().reads.events(rid, token, v.parse_limit(q.get("limit")))


@routes.route("/v1/runs/{run_id}/patch", methods=["GET"])
@api()
def run_patch(run_id: str, subject: str) -> Response:
    """The run's patch (text/x-diff) once it stopped; 404 with a reason, 413 when too large."""
    _query(set())
    text, meta = runs().reads.patch(v.validate_run_id(run_id))
    headers = {
        **SECURITY_HEADERS,
        "Content-Type": "text/x-diff; charset=utf-8",
        "X-Patch-Truncated": "true" if meta.get("truncated") else "false",
    }
    if meta.get("base_commit"):
        headers["X-Patch-Base-Commit"] = str(meta["base_commit"])
    return Response(body=text, status_code=200, headers=headers)


@routes.route("/v1/runs/{run_id}/stop", methods=["POST"])
@api()
def stop_run(run_id: str, subject: str) -> Response:
    """Stop a run's task (SIGTERM, then SIGKILL after the grace period)."""
    _query(set())
    rid = v.validate_run_id(run_id)
    v.parse_json_object(routes.current_request.raw_body, allow_empty=True)
    return json_response(202, runs().lifecycle.stop(rid, subject))


@routes.route("/v1/sessions", methods=["POST"])
@api()
def create_session(subject: str) -> Response:
    """Start an interactive task with ECS Exec; returns the execute-command line."""
    return _start_task(subject, interactive=True)


def _start_task(subject: str, *, interactive: bool) -> Response:
    """Validate a create request (a session's body may be empty), then record and run it."""
    req = routes.current_request
    _query(set())
    key = v.validate_idempotency_key(req.headers.get("idempotency-key"))
    if interactive:
        body = v.validate_create_session(v.parse_json_object(req.raw_body, allow_empty=True))
    else:
        body = v.validate_create_run(v.parse_json_object(req.raw_body))
    result, replayed = runs().lifecycle.create(subject, body, key, interactive=interactive)
    return json_response(202, result, {"Idempotent-Replayed": "true"} if replayed else None)
