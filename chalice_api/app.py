"""Cloud Agent Studio control API: thin Chalice routes and handlers over ``chalicelib``.

Importing this module must stay cheap (budget: 150 ms) and must not need any environment
variable - ``chalice package`` imports it at build time. So: no boto3/jwt at import, settings
read on first use. Handlers the api stack wires:

* ``api_handler``  - the REST API (API Gateway, via CloudFront)
* ``task_state``   - EventBridge rule for this cluster's "ECS Task State Change" events
* ``reaper``       - EventBridge schedule (e.g. rate(5 minutes))
* ``admin``        - invoked directly by the GitHub OIDC admin role
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalicelib import admin as admin_actions
from chalicelib import auth, origin
from chalicelib import config as cfg
from chalicelib import validation as v
from chalicelib.errors import ApiError, error_body
from chalicelib.openapi import document
from chalicelib.service import RunService

app = Chalice(app_name="cloudagent-api")
app.log.setLevel(logging.INFO)

SECURITY_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_CHALICE_ERRORS = {
    "BadRequestError": "bad_request",
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}
_service: tuple[cfg.ApiConfig, RunService] | None = None


def service(settings: cfg.ApiConfig | None = None) -> RunService:
    """The RunService for the current settings (one per container)."""
    global _service
    settings = settings or cfg.get()
    if _service is None or _service[0] is not settings:
        _service = (settings, RunService(settings))
    return _service[1]


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


@app.middleware("http")
def guard(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Origin check first, then the view; every error leaves in the one JSON error shape.

    The origin header is checked for every route, /v1/health included, so a direct call to
    the execute-api endpoint gets 403 no matter which path it tries. Without the secret's ARN
    every route answers 403 (fail closed) unless ``ORIGIN_VERIFY=off`` is set explicitly.
    """
    try:
        settings = cfg.get()
        origin.check(
            settings.origin_verify_secret_arn,
            event.headers.get(origin.HEADER),
            off=settings.origin_verify_off,
        )
        response = get_response(event)
    except ApiError as exc:
        return _json_response(exc.status, exc.body())
    except cfg.ConfigError as exc:
        app.log.error("configuration error: %s", exc)
        return _json_response(500, error_body("configuration_error", str(exc)))
    except Exception:
        app.log.exception("unhandled error")
        return _json_response(500, error_body("internal_error", "internal error"))
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        # Chalice's own errors (415, 405, its 500 fallback) in our shape.
        code = _CHALICE_ERRORS.get(str(body["Code"]), "error")
        message = str(body["Message"]) if response.status_code < 500 else "internal error"
        return _json_response(response.status_code, error_body(code, message), response.headers)
    return response


def api(require_auth: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Wrap a view: authenticate, turn ApiError into its response, hide anything else."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Response:
            try:
                subject = None
                if require_auth:
                    s = cfg.get()
                    verifier = auth.verifier_for(
                        s.oidc_issuer,
                        s.oidc_jwks_url,
                        s.oidc_audience,
                        s.oidc_allowed_subjects,
                        s.oidc_repository_id,
                    )
                    header = app.current_request.headers.get("authorization")
                    subject = verifier.verify_header(header).subject
                    kwargs["subject"] = subject
                result = view(*args, **kwargs)
            except ApiError as exc:
                return _json_response(exc.status, exc.body())
            except cfg.ConfigError as exc:
                app.log.error("configuration error: %s", exc)
                return _json_response(500, error_body("configuration_error", str(exc)))
            except Exception:
                app.log.exception("unhandled error in %s", view.__name__)
                return _json_response(500, error_body("internal_error", "internal error"))
            if isinstance(result, Response):
                return result
            return _json_response(200, result)

        return inner

    return wrap


def _query(allowed: set[str]) -> dict[str, str]:
    params = app.current_request.query_params or {}
    return v.check_query({k: params[k] for k in params}, allowed)


@app.route("/v1/health", methods=["GET"])
@api(require_auth=False)
def health() -> dict[str, Any]:
    """Liveness plus version and stage; loads the settings so misconfiguration shows here."""
    s = cfg.get()
    return {"status": "ok", "version": s.app_version, "stage": s.app_stage}


@app.route("/v1/openapi.json", methods=["GET"])
@api(require_auth=False)
def openapi() -> dict[str, Any]:
    """The OpenAPI 3 document of this API."""
    return document()


@app.route("/v1/runs", methods=["POST"])
@api()
def create_run(subject: str) -> Response:
    """Start a headless agent run."""
    return _start_task(subject, interactive=False)


@app.route("/v1/runs", methods=["GET"])
@api()
def list_runs(subject: str) -> dict[str, Any]:
    """Runs, newest first, paged with next_token."""
    q = _query({"limit", "next_token"})
    start = v.decode_token(q.get("next_token"), {"pk", "sk", "gsi1pk", "gsi1sk"})
    return service().list(v.parse_limit(q.get("limit")), start)


@app.route("/v1/runs/{run_id}", methods=["GET"])
@api()
def get_run(run_id: str, subject: str) -> dict[str, Any]:
    """One run with its times, exit code, result and cost estimate."""
    _query(set())
    return service().get(v.validate_run_id(run_id))


@app.route("/v1/runs/{run_id}/events", methods=["GET"])
@api()
def run_events(run_id: str, subject: str) -> dict[str, Any]:
    """A page of the run's agent events from CloudWatch Logs."""
    q = _query({"limit", "next_token"})
    rid = v.validate_run_id(run_id)
    token = v.validate_log_token(q.get("next_token"))
    return service().events(rid, token, v.parse_limit(q.get("limit")))


@app.route("/v1/runs/{run_id}/patch", methods=["GET"])
@api()
def run_patch(run_id: str, subject: str) -> Response:
    """The run's patch (text/x-diff) once it stopped; 404 with a reason, 413 when too large."""
    _query(set())
    text, meta = service().patch(v.validate_run_id(run_id))
    headers = {
        **SECURITY_HEADERS,
        "Content-Type": "text/x-diff; charset=utf-8",
        "X-Patch-Truncated": "true" if meta.get("truncated") else "false",
    }
    if meta.get("base_commit"):
        headers["X-Patch-Base-Commit"] = str(meta["base_commit"])
    return Response(body=text, status_code=200, headers=headers)


@app.route("/v1/runs/{run_id}/stop", methods=["POST"])
@api()
def stop_run(run_id: str, subject: str) -> Response:
    """Stop a run's task (SIGTERM, then SIGKILL after the grace period)."""
    _query(set())
    rid = v.validate_run_id(run_id)
    v.parse_json_object(app.current_request.raw_body, allow_empty=True)
    return _json_response(202, service().stop(rid, subject))


@app.route("/v1/sessions", methods=["POST"])
@api()
def create_session(subject: str) -> Response:
    """Start an interactive task with ECS Exec; returns the execute-command line."""
    return _start_task(subject, interactive=True)


def _start_task(subject: str, *, interactive: bool) -> Response:
    """Validate a create request (a session's body may be empty), then record and run it."""
    req = app.current_request
    _query(set())
    key = v.validate_idempotency_key(req.headers.get("idempotency-key"))
    if interactive:
        body = v.validate_create_session(v.parse_json_object(req.raw_body, allow_empty=True))
    else:
        body = v.validate_create_run(v.parse_json_object(req.raw_body))
    result, replayed = service().create(subject, body, key, interactive=interactive)
    return _json_response(202, result, {"Idempotent-Replayed": "true"} if replayed else None)


@app.lambda_function(name="task_state")
def task_state(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge target for ECS Task State Change events of this cluster."""
    return service().handle_task_event(event)


@app.lambda_function(name="reaper")
def reaper(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduled backstop: stop tasks past their cap + grace; reconcile lost events."""
    return service().reap()


@app.lambda_function(name="admin")
def admin(event: Any, context: Any) -> dict[str, Any]:
    """Operator actions (set provider key, key status, stop all); never raises."""
    try:
        return admin_actions.handle(event, cfg.get, service)
    except Exception:
        app.log.exception("admin failed")
        return {"ok": False, **error_body("internal_error", "internal error")}
