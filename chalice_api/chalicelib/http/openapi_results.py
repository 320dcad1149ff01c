"""The OpenAPI document's schema of a run's ``result``: what the agent reported, as stored.

Its limits come from ``runs/results.py``, which checks and clamps every field before it is
stored, so the published shape and the checks cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from ..runs.results import FINAL_MESSAGE_MAX_BYTES

_NULL_STR = {"type": "string", "nullable": True}
_NULL_COUNT = {"type": "integer", "minimum": 0, "nullable": True}
_NULL_NUM = {"type": "number", "minimum": 0, "nullable": True}
_USAGE_FIELDS = {
    "input_tokens": _NULL_COUNT,
    "output_tokens": _NULL_COUNT,
    "cache_read_tokens": _NULL_COUNT,
    "cache_write_tokens": _NULL_COUNT,
    "cost_usd": _NULL_NUM,
}

RESULT_SCHEMAS: dict[str, Any] = {
    "RunResult": {
        "type": "object",
        "description": (
            "What the agent reported in its last log line (runtime_end.result), "
            "checked and clamped by the control plane (a field of the wrong type is "
            "null), with the usage the model proxy metered. In GET /v1/runs (the list) "
            "final_message is left out."
        ),
        "properties": {
            "final_message": {
                **_NULL_STR,
                "description": (
                    f"text of the last assistant message, at most "
                    f"{FINAL_MESSAGE_MAX_BYTES} bytes (UTF-8); '[withheld: the secret "
                    "scanner matched <type>]' when detect-secrets found a secret in it"
                ),
            },
            "final_message_truncated": {"type": "boolean"},
            "final_message_withheld": {
                "type": "boolean",
                "description": "the secret scan withheld final_message",
            },
            "stop_reason": _NULL_STR,
            "usage": {
                "type": "object",
                "description": (
                    "what the model proxy metered (the billed usage; zeros when the run made "
                    "no model call through it); calls: priced model responses"
                ),
                "properties": {**_USAGE_FIELDS, "calls": _NULL_COUNT},
            },
            "agent_reported_usage": {
                "type": "object",
                "nullable": True,
                "description": "what the agent reported in runtime_end (not billed)",
                "properties": _USAGE_FIELDS,
            },
            "budget_exceeded": {
                "type": "boolean",
                "description": "the model proxy refused a call at the run's max_cost_usd",
            },
            "tool_calls": _NULL_COUNT,
            "duration_seconds": _NULL_NUM,
            "patch": {
                "type": "object",
                "nullable": True,
                "description": "null when the run had no repository or no change",
                "properties": {
                    "base_commit": {
                        **_NULL_STR,
                        "description": (
                            "the commit the patch applies to; for a continuation the synthetic "
                            "commit of its chain (root_commit with the chain's patches "
                            "committed), so the patch applies on top of the run's branch"
                        ),
                    },
                    "parent_run_id": {
                        **_NULL_STR,
                        "description": "a continuation's parent run (absent otherwise)",
                    },
                    "root_commit": {
                        **_NULL_STR,
                        "description": "a continuation's chain start (absent otherwise)",
                    },
                    "files_changed": _NULL_COUNT,
                    "insertions": _NULL_COUNT,
                    "deletions": _NULL_COUNT,
                    "bytes": _NULL_COUNT,
                    "chunks": _NULL_COUNT,
                    "truncated": {"type": "boolean"},
                },
            },
            "patch_error": {
                **_NULL_STR,
                "description": (
                    "why the agent could not collect its patch (such a run cannot be "
                    "continued); null otherwise"
                ),
            },
            "session": {
                "type": "object",
                "nullable": True,
                "description": (
                    "what the agent saved of its conversation for a continuation "
                    "(sessions/<run_id>.jsonl in the artifact bucket, cut to whole lines at "
                    "8 MiB); null for a run without a repository"
                ),
                "properties": {
                    "saved": {"type": "boolean"},
                    "bytes": _NULL_COUNT,
                    "messages": _NULL_COUNT,
                    "truncated": {"type": "boolean"},
                },
            },
        },
    },
}
