"""The OpenAPI document's paths: each route's parameters, request body and responses.

Kept apart from the schemas so a route's contract (which errors it may answer, which
parameters it takes) reads in one place; the bodies it names live in ``openapi_schemas.py``.
"""

from __future__ import annotations

from typing import Any

from ..core.ids import RUN_ID_RE
from ..runs.results import PATCH_RESPONSE_MAX_BYTES
from .openapi_schemas import ref
from .validation import DEFAULT_LIST_LIMIT, IDEMPOTENCY_KEY_RE, MAX_LIST_LIMIT


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, **_json(ref("Error"))}


_TOO_MANY = (
    "concurrency_limit: the concurrency limit is reached (nothing recorded); "
    "fargate_vcpu_quota: ECS refused the task for the account's Fargate vCPU quota (the run is "
    "recorded as FAILED_TO_START, its slot released; the admin action preflight tells how many "
    "runs fit)"
)
_AUTH_ERRORS = {
    "401": _err("missing or invalid bearer token"),
    "403": _err("identity not allowed, or the request did not come through CloudFront"),
}

_RUN_ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{RUN_ID_RE.pattern}$"},
}
_NEXT_TOKEN = {
    "name": "next_token",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "maxLength": 1024},
}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "required": False,
    "schema": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_LIST_LIMIT,
        "default": DEFAULT_LIST_LIMIT,
    },
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Same key and body within 24 h returns the same run; a different body is 409.",
    "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY_RE.pattern}$"},
}

PATHS: dict[str, Any] = {
    "/v1/health": {
        "get": {
            "operationId": "health",
            "security": [],
            "responses": {"200": {"description": "ok", **_json(ref("Health"))}},
        }
    },
    "/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "security": [],
            "responses": {"200": {"description": "this document"}},
        }
    },
    "/v1/runs": {
        "post": {
            "operationId": "createRun",
            "parameters": [_IDEMPOTENCY],
            "requestBody": {"required": True, **_json(ref("CreateRunRequest"))},
            "responses": {
                "202": {"description": "accepted", **_json(ref("RunAccepted"))},
                "400": _err(
                    "invalid request, repo not in the setting allowed_repos, egress_domains "
                    "not covered by the setting egress_run_domains_allowed, or a continue_from "
                    "run without a repository (or with another repo than the request's)"
                ),
                **_AUTH_ERRORS,
                "404": _err("the continue_from run does not exist"),
                "409": _err(
                    "Idempotency-Key reused with a different body; provider_key_not_set: the "
                    "provider's key has no value; repo_token_not_set: private_repos is on and "
                    "the clone token has no value (nothing recorded; the message names the "
                    "admin action); the continue_from run is not STOPPED, its result is not "
                    "read yet (retry), its patch was truncated or cannot be read back, or "
                    "another continuation of it is running (named)"
                ),
                "413": _err(
                    "prompt (+ repo, ref and the task's presigned artifact URLs) too large for "
                    "the ECS overrides limit (8 KiB)"
                ),
                "429": _err(_TOO_MANY),
                "503": _err(
                    "whether the task's secrets are set could not be checked, or the artifact "
                    "bucket could not be read (continue_from; nothing recorded); "
                    "egress_unavailable: the run's egress_domains could not be added to the DNS "
                    "Firewall (the run is FAILED_TO_START, no task started); busy: the create "
                    "kept colliding with other writes to the run table (nothing recorded); retry"
                ),
            },
        },
        "get": {
            "operationId": "listRuns",
            "parameters": [_LIMIT, _NEXT_TOKEN],
            "responses": {
                "200": {"description": "runs, newest first", **_json(ref("RunList"))},
                "400": _err("invalid query"),
                **_AUTH_ERRORS,
            },
        },
    },
    "/v1/runs/{id}": {
        "get": {
            "operationId": "getRun",
            "parameters": [_RUN_ID_PARAM],
            "responses": {
                "200": {"description": "the run", **_json(ref("Run"))},
                **_AUTH_ERRORS,
                "404": _err("no such run"),
            },
        }
    },
    "/v1/runs/{id}/events": {
        "get": {
            "operationId": "getRunEvents",
            "parameters": [_RUN_ID_PARAM, _LIMIT, _NEXT_TOKEN],
            "responses": {
                "200": {"description": "a page of events", **_json(ref("EventPage"))},
                "400": _err("invalid query"),
                **_AUTH_ERRORS,
                "404": _err("no such run"),
            },
        }
    },
    "/v1/runs/{id}/patch": {
        "get": {
            "operationId": "getRunPatch",
            "description": (
                "The run's change as one unified diff (what `git apply` takes on a checkout "
                "of result.patch.base_commit): the data of its patch events in seq order, "
                "checked complete against result.patch.chunks. Headers X-Patch-Base-Commit "
                "and X-Patch-Truncated repeat the metadata. A Lambda response carries at "
                f"most 6 MB, so a patch whose JSON-escaped text exceeds "
                f"{PATCH_RESPONSE_MAX_BYTES} bytes is refused with 413: read its patch "
                "events from /v1/runs/{id}/events instead."
            ),
            "parameters": [_RUN_ID_PARAM],
            "responses": {
                "200": {
                    "description": "the patch",
                    "content": {"text/x-diff": {"schema": {"type": "string"}}},
                },
                **_AUTH_ERRORS,
                "404": _err(
                    "no such run, or no patch (with the reason): not STOPPED yet, no "
                    "result, no repository or no change, or chunks missing from the log"
                ),
                "413": _err("patch too large for one response; read its events instead"),
            },
        }
    },
    "/v1/runs/{id}/stop": {
        "post": {
            "operationId": "stopRun",
            "parameters": [_RUN_ID_PARAM],
            "responses": {
                "202": {"description": "stop requested", **_json(ref("RunAccepted"))},
                **_AUTH_ERRORS,
                "404": _err("no such run"),
                "409": _err("run already finished or not started yet"),
            },
        }
    },
    "/v1/sessions": {
        "post": {
            "operationId": "createSession",
            "parameters": [_IDEMPOTENCY],
            "requestBody": {"required": False, **_json(ref("CreateSessionRequest"))},
            "responses": {
                "202": {"description": "accepted", **_json(ref("RunAccepted"))},
                "400": _err(
                    "invalid request, or egress_domains not covered by the setting "
                    "egress_run_domains_allowed"
                ),
                **_AUTH_ERRORS,
                "409": _err(
                    "Idempotency-Key reused with a different body; provider_key_not_set (no "
                    "provider given: no key is set at all) or repo_token_not_set"
                ),
                "429": _err(_TOO_MANY),
                "503": _err(
                    "whether the task's secrets are set could not be checked, or "
                    "egress_unavailable (as for POST /v1/runs); retry"
                ),
            },
        }
    },
}
