"""What a run spent on its model, as the model proxy metered it, and whether it hit its cap.

The agent container holds no provider key: every model call goes through the ``model-proxy``
sidecar, which prices each response with pi's table and writes its own lines to its own log
stream (``agent/model-proxy/<task-id>``), out of the agent's reach (docs/ARCHITECTURE.md §4).
So the billed usage of a run is read here, never from the agent's ``runtime_end``: what the
agent says it used is kept beside it as ``agent_reported_usage``, and a forged line changes
nothing that is billed.

The proxy's lines: ``model_usage`` (one per priced response, with the running ``total``),
``budget_exceeded`` (the first call it refused at the cap) and ``proxy_end`` (its ``usage``
and ``budget_exceeded``, written when ECS stops the task). The newest total counts; a stream
without any means nothing was spent through the proxy (zeros).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .results import MAX_USD, count_of, records_backward, usd_of

# The proxy writes a few lines per model call: a long run's stream is a page or two.
PROXY_PAGES = 5
TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def zero_usage() -> dict[str, Any]:
    """The usage of a run that made no model call through the proxy."""
    return {**dict.fromkeys(TOKEN_KEYS, 0), "cost_usd": Decimal(0), "calls": 0}


@dataclass(frozen=True)
class Metered:
    """The proxy's account of a run: its usage (tokens, ``cost_usd``, ``calls``) and
    whether it refused a call at the run's cap."""

    usage: dict[str, Any] = field(default_factory=zero_usage)
    budget_exceeded: bool = False


def _usage(raw: Any) -> dict[str, Any]:
    """A proxy usage object, checked like every stored number (wrong types become null)."""
    if not isinstance(raw, dict):
        return zero_usage()
    out: dict[str, Any] = {key: count_of(raw.get(key)) for key in TOKEN_KEYS}
    out["cost_usd"] = usd_of(raw.get("cost_usd"), MAX_USD)
    out["calls"] = count_of(raw.get("calls"))
    return out


def read_metered(pages: Iterable[list[dict[str, Any]]], run_id: str) -> Metered:
    """The run's metered usage from the proxy's stream (pages newest first).

    ``proxy_end`` is the proxy's last word and settles both values. Without it (the proxy
    was killed), the newest ``model_usage`` total counts and any ``budget_exceeded`` line
    read says the cap was hit; calls in flight when the cap was reached can log usage after
    the refusal, so the pages are read to their bound rather than stopping at the first total.
    """
    usage: Any = None
    exceeded = False
    for _, line in records_backward(pages):
        if not isinstance(line, dict) or line.get("run_id") not in (None, run_id):
            continue
        kind = line.get("type")
        if kind == "proxy_end":
            return Metered(
                _usage(line.get("usage") if usage is None else usage),
                exceeded or line.get("budget_exceeded") is True,
            )
        if kind == "budget_exceeded":
            exceeded = True
        elif kind == "model_usage" and usage is None:
            usage = line.get("total")
    return Metered(_usage(usage), exceeded)


def billed(result: dict[str, Any], metered: Metered) -> dict[str, Any]:
    """The stored result: the proxy's usage as ``usage``, the agent's as
    ``agent_reported_usage``, and whether the cap was hit."""
    return {
        **result,
        "usage": metered.usage,
        "agent_reported_usage": result.get("usage"),
        "budget_exceeded": metered.budget_exceeded,
    }
