"""The OpenAPI 3 document of the control API, kept as data.

Served at ``GET /v1/openapi.json`` and used by the tests: the fuzzing test generates requests
from it, and a consistency test checks the limits below against ``validation.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from .config import HARD_MAX_RUNTIME_SECONDS, PROVIDERS
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
                    "400": _err("invalid request"),
                    **_AUTH_ERRORS,
                    "409": _err("Idempotency-Key reused with a different body"),
                    "413": _err("prompt too large for the ECS overrides limit (8 KiB)"),
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
                "properties": {
                    "prompt": {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS},
                    "provider": _PROVIDER,
                    "model": _MODEL,
                    "max_runtime_seconds": _RUNTIME,
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
                    "max_runtime_seconds": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "created_by": {"type": "string"},
                    "task_arn": _NULL_STR,
                    "started_at": _NULL_STR,
                    "stopped_at": _NULL_STR,
                    "duration_seconds": _NULL_INT,
                    "estimated_cost_usd": {"type": "number", "nullable": True},
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
