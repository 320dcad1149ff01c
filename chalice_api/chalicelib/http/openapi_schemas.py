"""The OpenAPI document's schemas: the responses and the field shapes they share.

Request bodies live in ``openapi_requests.py``, a run's result in ``openapi_results.py``. Every
limit here is imported from the module that enforces it (``core/config.py``,
``core/statuses.py``, ``cloud/blocked.py``), so the published contract and the checks cannot
drift apart.
"""

from __future__ import annotations

from typing import Any

from ..cloud.blocked import MAX_NAMES
from ..core.config import CAPACITIES
from ..core.statuses import STATUSES
from .openapi_requests import REQUEST_SCHEMAS
from .openapi_results import RESULT_SCHEMAS


def ref(name: str) -> dict[str, str]:
    """A ``$ref`` to one of :data:`SCHEMAS`."""
    return {"$ref": f"#/components/schemas/{name}"}


_NULL_STR = {"type": "string", "nullable": True}
_NULL_INT = {"type": "integer", "nullable": True}
_NULL_NUM = {"type": "number", "minimum": 0, "nullable": True}
_NAMES = {"type": "array", "nullable": True, "items": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    **REQUEST_SCHEMAS,
    **RESULT_SCHEMAS,
    "RunAccepted": {
        "type": "object",
        "required": ["run_id", "status"],
        "properties": {
            "run_id": {"type": "string"},
            "status": {"type": "string", "enum": list(STATUSES)},
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
            "status": {"type": "string", "enum": list(STATUSES)},
            "prompt": _NULL_STR,
            "provider": _NULL_STR,
            "model": _NULL_STR,
            "repo": {**_NULL_STR, "description": "OWNER/NAME the run cloned"},
            "ref": {
                **_NULL_STR,
                "description": (
                    "ref checked out (null: default); a continuation shows its chain's first "
                    "run's (it clones root_commit)"
                ),
            },
            "parent_run_id": {
                **_NULL_STR,
                "description": "the run this one continues (continue_from); null otherwise",
            },
            "root_commit": {
                **_NULL_STR,
                "description": (
                    "a continuation's chain start: the repository commit its first run was "
                    "cloned at, which the continuation clones before applying the chain's "
                    "patches; null for a run that continues none"
                ),
            },
            "max_runtime_seconds": {"type": "integer"},
            "max_cost_usd": {
                **_NULL_NUM,
                "description": (
                    "the run's model spend cap in USD, kept by the model proxy (the request's "
                    "max_cost_usd, or the setting max_run_cost_usd)"
                ),
            },
            "budget_exceeded": {
                "type": "boolean",
                "nullable": True,
                "description": (
                    "true when the model proxy refused a call at the cap (as in the result); "
                    "null until the result is read"
                ),
            },
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
                "description": (
                    "result.usage.cost_usd: what the model proxy metered, priced with pi's "
                    "table; null until the result is read"
                ),
            },
            "estimated_cost_usd": {
                "type": "number",
                "nullable": True,
                "description": (
                    "compute_cost_usd + model_cost_usd; a part not known yet counts "
                    "as 0; null when neither is known"
                ),
            },
            "result": {"allOf": [ref("RunResult")], "nullable": True},
            "result_error": {
                **_NULL_STR,
                "description": (
                    "why result is null once stopped (log stream or runtime_end "
                    "missing or malformed)"
                ),
            },
            "egress_domains": {**_NAMES, "description": "the egress_domains the run asked for"},
            "blocked_domains": {
                **_NAMES,
                "description": (
                    "names the DNS Firewall refused for this task (BLOCK records of the query "
                    f"log for the task's address while it ran), sorted, at most {MAX_NAMES}; "
                    "null while running, when the log could not be read (see "
                    "blocked_domains_error) or with egress_mode off. Not in GET /v1/runs."
                ),
            },
            "alerted_domains": {
                **_NAMES,
                "description": (
                    "names that would have been refused (ALERT records: egress_mode observe); "
                    "otherwise like blocked_domains"
                ),
            },
            "blocked_domains_truncated": {
                "type": "boolean",
                "nullable": True,
                "description": "more names (or log pages) than were kept",
            },
            "blocked_domains_error": {**_NULL_STR, "description": "why the lists are null"},
            "exit_code": _NULL_INT,
            "stopped_reason": _NULL_STR,
            "stop_code": _NULL_STR,
            "failure_reason": _NULL_STR,
            "stop_requested_at": _NULL_STR,
            "stop_requested_by": _NULL_STR,
            "reaped_reason": _NULL_STR,
            "capacity_used": {
                "type": "string",
                "enum": list(CAPACITIES),
                "nullable": True,
                "description": (
                    "the Fargate capacity the run's task runs on (setting capacity); on-demand "
                    "after a fall back from Spot. compute_cost_usd uses its price"
                ),
            },
            "fallback_reason": {
                **_NULL_STR,
                "description": (
                    "why the run was started again on on-demand (once) with setting capacity "
                    "spot-then-on-demand: ECS had no Spot capacity at RunTask, or the Spot "
                    "task stopped before it ran"
                ),
            },
            "interrupted": {
                "type": "boolean",
                "nullable": True,
                "description": (
                    "true when Spot took the capacity back (stopCode SpotInterruption): the "
                    "agent got SIGTERM and ended with exit code 143, result and patch included"
                ),
            },
            "exec_command": {"type": "string"},
        },
    },
    "RunList": {
        "type": "object",
        "required": ["runs", "next_token"],
        "properties": {
            "runs": {"type": "array", "items": ref("Run")},
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
}
