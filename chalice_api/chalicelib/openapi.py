"""The OpenAPI 3 document of the control API, kept as data.

Served at ``GET /v1/openapi.json`` and used by the tests: the fuzzing test generates requests
from it, and a consistency test checks the limits below against ``validation.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from .config import HARD_MAX_RUNTIME_SECONDS, PROVIDERS
from .gitref import MAX_REF_CHARS, REF_RE, REPO_RE
from .results import FINAL_MESSAGE_MAX_BYTES, PATCH_RESPONSE_MAX_BYTES
from .validation import (
    DEFAULT_LIST_LIMIT,
    IDEMPOTENCY_KEY_RE,
    MAX_LIST_LIMIT,
    MAX_PROMPT_CHARS,
    MODEL_RE,
    RUN_ID_RE,
)

STATUSES = ["PENDING", "STARTING", "RUNNING", "STOPPING", "STOPPED", "FAILED_TO_START"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, **_json(_ref("Error"))}


_RUNTIME = {"type": "integer", "minimum": 1, "maximum": HARD_MAX_RUNTIME_SECONDS}
_PROVIDER = {"type": "string", "enum": list(PROVIDERS)}
_MODEL = {"type": "string", "pattern": f"^{MODEL_RE.pattern}$", "maxLength": 128}
_NULL_STR = {"type": "string", "nullable": True}
_NULL_INT = {"type": "integer", "nullable": True}
_NULL_COUNT = {"type": "integer", "minimum": 0, "nullable": True}
_NULL_NUM = {"type": "number", "minimum": 0, "nullable": True}
_REPO = {
    "type": "string",
    "pattern": f"^{REPO_RE.pattern}$",
    "maxLength": 140,
    "description": (
        "OWNER/NAME of a repository on github.com; must be in the deployment's setting "
        "allowed_repos (env ALLOWED_REPOS), otherwise 400. The task clones "
        "https://github.com/OWNER/NAME.git into /workspace."
    ),
}
_GIT_REF = {
    "type": "string",
    "pattern": f"^{REF_RE.pattern}$",
    "maxLength": MAX_REF_CHARS,
    "description": (
        "branch, tag or 40-hex commit to check out (default: the repository's default "
        "branch); git ref syntax over [A-Za-z0-9._/+-], not starting with - or +, no '..'. "
        "Only with repo."
    ),
}

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

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Cloud Agent Studio control API",
        "version": "1",
        "description": (
            "Starts and observes coding-agent runs on ECS Fargate in the operator's own AWS "
            'account. Every error is {"error": {"code", "message"}}.'
        ),
    },
    "security": [{"githubOidc": []}],
    "paths": {
        "/v1/health": {
            "get": {
                "operationId": "health",
                "security": [],
                "responses": {"200": {"description": "ok", **_json(_ref("Health"))}},
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
                "requestBody": {"required": True, **_json(_ref("CreateRunRequest"))},
                "responses": {
                    "202": {"description": "accepted", **_json(_ref("RunAccepted"))},
                    "400": _err("invalid request, or repo not in the setting allowed_repos"),
                    **_AUTH_ERRORS,
                    "409": _err("Idempotency-Key reused with a different body"),
                    "413": _err(
                        "prompt (+ repo, ref) too large for the ECS overrides limit (8 KiB)"
                    ),
                    "429": _err("concurrency limit reached"),
                },
            },
            "get": {
                "operationId": "listRuns",
                "parameters": [_LIMIT, _NEXT_TOKEN],
                "responses": {
                    "200": {"description": "runs, newest first", **_json(_ref("RunList"))},
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
                    "200": {"description": "the run", **_json(_ref("Run"))},
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
                    "200": {"description": "a page of events", **_json(_ref("EventPage"))},
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
                    "202": {"description": "stop requested", **_json(_ref("RunAccepted"))},
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
                "requestBody": {"required": False, **_json(_ref("CreateSessionRequest"))},
                "responses": {
                    "202": {"description": "accepted", **_json(_ref("RunAccepted"))},
                    "400": _err("invalid request"),
                    **_AUTH_ERRORS,
                    "409": _err("Idempotency-Key reused with a different body"),
                    "429": _err("concurrency limit reached"),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "githubOidc": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT (GitHub Actions OIDC, RS256)",
            }
        },
        "schemas": {
            "CreateRunRequest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["prompt", "provider", "model"],
                "description": "ref only together with repo",
                "anyOf": [{"required": ["repo"]}, {"not": {"required": ["ref"]}}],
                "properties": {
                    "prompt": {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS},
                    "provider": _PROVIDER,
                    "model": _MODEL,
                    "max_runtime_seconds": _RUNTIME,
                    "repo": _REPO,
                    "ref": _GIT_REF,
                },
            },
            "CreateSessionRequest": {
                "type": "object",
                "additionalProperties": False,
                "description": "provider and model are given together or not at all",
                "anyOf": [
                    {"required": ["provider", "model"]},
                    {"not": {"anyOf": [{"required": ["provider"]}, {"required": ["model"]}]}},
                ],
                "properties": {
                    "provider": _PROVIDER,
                    "model": _MODEL,
                    "max_runtime_seconds": _RUNTIME,
                },
            },
            "RunAccepted": {
                "type": "object",
                "required": ["run_id", "status"],
                "properties": {
                    "run_id": {"type": "string"},
                    "status": {"type": "string", "enum": STATUSES},
                    "reason": {"type": "string"},
                    "task_arn": {"type": "string"},
                    "exec_command": {"type": "string"},
                },
            },
            "Run": {
                "type": "object",
                "required": ["run_id", "status", "kind", "created_at"],
                "properties": {
                    "run_id": {"type": "string"},
                    "kind": {"type": "string", "enum": ["run", "session"]},
                    "status": {"type": "string", "enum": STATUSES},
                    "prompt": _NULL_STR,
                    "provider": _NULL_STR,
                    "model": _NULL_STR,
                    "repo": {**_NULL_STR, "description": "OWNER/NAME the run cloned"},
                    "ref": {**_NULL_STR, "description": "ref checked out (null: default)"},
                    "max_runtime_seconds": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "created_by": {"type": "string"},
                    "task_arn": _NULL_STR,
                    "started_at": _NULL_STR,
                    "stopped_at": _NULL_STR,
                    "duration_seconds": _NULL_INT,
                    "compute_cost_usd": {
                        "type": "number",
                        "nullable": True,
                        "description": (
                            "billed task time (from image pull, 1-minute minimum) x the task "
                            "shape's hourly price; null without a price"
                        ),
                    },
                    "model_cost_usd": {
                        "type": "number",
                        "nullable": True,
                        "description": "result.usage.cost_usd (pi's price); null if unknown",
                    },
                    "estimated_cost_usd": {
                        "type": "number",
                        "nullable": True,
                        "description": (
                            "compute_cost_usd + model_cost_usd; a part not known yet counts "
                            "as 0; null when neither is known"
                        ),
                    },
                    "result": {"allOf": [_ref("RunResult")], "nullable": True},
                    "result_error": {
                        **_NULL_STR,
                        "description": (
                            "why result is null once stopped (log stream or runtime_end "
                            "missing or malformed)"
                        ),
                    },
                    "exit_code": _NULL_INT,
                    "stopped_reason": _NULL_STR,
                    "stop_code": _NULL_STR,
                    "failure_reason": _NULL_STR,
                    "stop_requested_at": _NULL_STR,
                    "stop_requested_by": _NULL_STR,
                    "reaped_reason": _NULL_STR,
                    "exec_command": {"type": "string"},
                },
            },
            "RunResult": {
                "type": "object",
                "description": (
                    "What the agent reported in its last log line (runtime_end.result), "
                    "checked and clamped by the control plane; a field of the wrong type is "
                    "null. In GET /v1/runs (the list) final_message is left out."
                ),
                "properties": {
                    "final_message": {
                        **_NULL_STR,
                        "description": (
                            f"text of the last assistant message, at most "
                            f"{FINAL_MESSAGE_MAX_BYTES} bytes (UTF-8)"
                        ),
                    },
                    "final_message_truncated": {"type": "boolean"},
                    "stop_reason": _NULL_STR,
                    "usage": {
                        "type": "object",
                        "properties": {
                            "input_tokens": _NULL_COUNT,
                            "output_tokens": _NULL_COUNT,
                            "cache_read_tokens": _NULL_COUNT,
                            "cache_write_tokens": _NULL_COUNT,
                            "cost_usd": _NULL_NUM,
                        },
                    },
                    "tool_calls": _NULL_COUNT,
                    "duration_seconds": _NULL_NUM,
                    "patch": {
                        "type": "object",
                        "nullable": True,
                        "description": "null when the run had no repository or no change",
                        "properties": {
                            "base_commit": _NULL_STR,
                            "files_changed": _NULL_COUNT,
                            "insertions": _NULL_COUNT,
                            "deletions": _NULL_COUNT,
                            "bytes": _NULL_COUNT,
                            "chunks": _NULL_COUNT,
                            "truncated": {"type": "boolean"},
                        },
                    },
                },
            },
            "RunList": {
                "type": "object",
                "required": ["runs", "next_token"],
                "properties": {
                    "runs": {"type": "array", "items": _ref("Run")},
                    "next_token": _NULL_STR,
                },
            },
            "EventPage": {
                "type": "object",
                "required": ["run_id", "events", "next_token", "end_of_stream"],
                "properties": {
                    "run_id": {"type": "string"},
                    "events": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "timestamp": {"type": "integer"},
                                "message": {"type": "string"},
                                "data": {"type": "object"},
                            },
                        },
                    },
                    "next_token": _NULL_STR,
                    "end_of_stream": {"type": "boolean"},
                },
            },
            "Health": {
                "type": "object",
                "properties": {
                    "status": {"type": "string"},
                    "version": {"type": "string"},
                    "stage": {"type": "string"},
                },
            },
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    }
                },
            },
        },
    },
}


def document() -> dict[str, Any]:
    """A copy of the document (callers may not mutate the shared one)."""
    return copy.deepcopy(DOCUMENT)
