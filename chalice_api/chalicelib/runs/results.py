"""A run's result and patch, read back from the end of its agent log stream.

The entrypoint's last line is ``{"type":"runtime_end", ..., "result": {...}}``; with a repository
it is preceded by ordered ``{"type":"patch","seq":N,"data":...}`` events. Both sit at the END
of the stream, so they are read backwards (``startFromHead=False``) a bounded number of pages:
a two-hour transcript is never scanned from its start.

What is stored is checked and clamped here (types, sizes, finite non-negative numbers as
``Decimal``): the log stream is written by the agent's container, which the control plane does
not trust. An over-long line that the log driver split into several events (a continuation
does not start with ``{``) is joined back before parsing. The final message is scanned for
secrets before it is stored (``secret_scan.py``): a hit withholds it. The usage in it is what
the agent reports; what is billed comes from the model proxy (``metering.py``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from ..core.ids import RUN_ID_RE
from . import secret_scan

FINAL_MESSAGE_MAX_BYTES = 64 * 1024
STOP_REASON_MAX_CHARS = 64
MAX_COUNT = 10**15
MAX_USD = 10**6
MAX_SECONDS = 10**6
RESULT_PAGES = 3  # runtime_end is the last line; a few pages allow for trailing stderr lines
PATCH_PAGES = 40  # 10 MB of patch in pages of at most 1 MB, with room for other events
FRAGMENT_MAX_BYTES = 2 * 1024 * 1024
SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
REASON_MAX_CHARS = 200
# The agent's cap on a whole patch (image/lib/patch.js); a longer one is cut and flagged.
PATCH_MAX_BYTES = 10 * 1024 * 1024
# Lambda answers at most 6 MB; the patch travels JSON-escaped inside the proxy response.
PATCH_RESPONSE_MAX_BYTES = 5 * 1024 * 1024


class ResultUnavailable(Exception):
    """The result could not be read; the message is the short ``result_error`` stored."""


class PatchIncomplete(Exception):
    """Some patch chunks are not in the log stream (``missing`` lists their seq numbers)."""

    def __init__(self, missing: list[int]):
        super().__init__(f"{len(missing)} chunk(s) missing")
        self.missing = missing


def records_backward(pages: Iterable[list[dict[str, Any]]]) -> Iterator[tuple[str, Any]]:
    """``(text, parsed JSON or None)`` for each ``{``-line, newest first.

    ``pages`` come newest first, each in time order (as ``get_log_events`` backwards returns
    them). Lines that do not start with ``{`` that follow a ``{``-line are joined to it as its
    continuation; the first JSON value of the joined text counts, so a plain line written
    after a complete JSON line (stderr) is ignored.
    """
    fragments: list[str] = []
    size = 0
    for page in pages:
        for event in reversed(page):
            message = str(event.get("message", "")).rstrip("\r\n")
            if not message.startswith("{"):
                size += len(message)
                if size <= FRAGMENT_MAX_BYTES:
                    fragments.append(message)
                continue
            joined = message + "".join(reversed(fragments))
            fragments, size = [], 0
            yield joined, _first_value(joined)


_DECODER = json.JSONDecoder()


def _first_value(text: str) -> Any:
    try:
        return _DECODER.raw_decode(text)[0]
    except (ValueError, RecursionError):
        return None


def find_runtime_end(pages: Iterable[list[dict[str, Any]]], run_id: str) -> dict[str, Any]:
    """The run's ``runtime_end`` event, or ResultUnavailable with a short reason."""
    for text, parsed in records_backward(pages):
        if isinstance(parsed, dict) and parsed.get("type") == "runtime_end":
            other = parsed.get("run_id")
            if other is not None and other != run_id:
                raise ResultUnavailable("runtime_end in the log stream names another run")
            return parsed
        if parsed is None and text.startswith('{"type":"runtime_end"'):
            raise ResultUnavailable("runtime_end event in the log stream is not valid JSON")
        if isinstance(parsed, dict) and isinstance(parsed.get("type"), str):
            # An agent event after which nothing was written: the entrypoint never finished.
            raise ResultUnavailable("no runtime_end event at the end of the log stream")
    raise ResultUnavailable("no runtime_end event in the log stream")


def _text(value: Any) -> str:
    """A string DynamoDB can store (lone surrogates replaced)."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def count_of(value: Any) -> int | None:
    """A non-negative whole number (capped), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return min(value, MAX_COUNT)


def _number(value: Any, cap: float, places: int) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return Decimal(repr(round(min(float(value), cap), places)))


def usd_of(value: Any, cap: float) -> Decimal | None:
    """An amount of USD to the micro-dollar (capped), or None when not a finite amount >= 0."""
    return _number(value, cap, 6)


def _final_message(value: Any) -> tuple[str | None, bool]:
    if not isinstance(value, str):
        return None, False
    raw = value.encode("utf-8", "replace")
    if len(raw) <= FINAL_MESSAGE_MAX_BYTES:
        return raw.decode("utf-8"), False
    return raw[:FINAL_MESSAGE_MAX_BYTES].decode("utf-8", "ignore"), True


def _sha(value: Any) -> str | None:
    return value if isinstance(value, str) and SHA_RE.fullmatch(value) else None


def _patch(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {
        "base_commit": _sha(value.get("base_commit")),
        "truncated": value.get("truncated") is True,
    }
    for key in ("files_changed", "insertions", "deletions", "bytes", "chunks"):
        out[key] = count_of(value.get(key))
    # A continuation's patch is relative to the synthetic commit of its chain (base_commit);
    # these name the run it continued and the repository commit the chain started from.
    if "parent_run_id" in value or "root_commit" in value:
        parent = value.get("parent_run_id")
        out["parent_run_id"] = (
            parent if isinstance(parent, str) and RUN_ID_RE.fullmatch(parent) else None
        )
        out["root_commit"] = _sha(value.get("root_commit"))
    return out


def _session(value: Any) -> dict[str, Any] | None:
    """What the agent says it saved of its session (``sessions/<run>.jsonl``); null when the
    run had no upload URL."""
    if not isinstance(value, dict):
        return None
    return {
        "saved": value.get("saved") is True,
        "bytes": count_of(value.get("bytes")),
        "messages": count_of(value.get("messages")),
        "truncated": value.get("truncated") is True,
    }


def _patch_error(value: Any) -> str | None:
    """Why the agent could not collect its patch (a continuation must not start without it)."""
    return _text(value)[:REASON_MAX_CHARS] if isinstance(value, str) and value else None


def sanitize(raw: Any) -> dict[str, Any]:
    """The stored ``result``: every field checked, wrong types become null, sizes capped."""
    if not isinstance(raw, dict):
        raise ResultUnavailable("runtime_end has no result object")
    message, cut = _final_message(raw.get("final_message"))
    message, withheld = secret_scan.withheld(message)
    stop = raw.get("stop_reason")
    usage = raw.get("usage") if isinstance(raw.get("usage"), dict) else {}
    return {
        "final_message": message,
        "final_message_truncated": cut or raw.get("final_message_truncated") is True,
        "final_message_withheld": withheld,
        "stop_reason": _text(stop)[:STOP_REASON_MAX_CHARS] if isinstance(stop, str) else None,
        "usage": {
            "input_tokens": count_of(usage.get("input_tokens")),
            "output_tokens": count_of(usage.get("output_tokens")),
            "cache_read_tokens": count_of(usage.get("cache_read_tokens")),
            "cache_write_tokens": count_of(usage.get("cache_write_tokens")),
            "cost_usd": _number(usage.get("cost_usd"), MAX_USD, 6),
        },
        "tool_calls": count_of(raw.get("tool_calls")),
        "duration_seconds": _number(raw.get("duration_seconds"), MAX_SECONDS, 3),
        "patch": _patch(raw.get("patch")),
        "patch_error": _patch_error(raw.get("patch_error")),
        "session": _session(raw.get("session")),
    }


def read_result(pages: Iterable[list[dict[str, Any]]], run_id: str) -> dict[str, Any]:
    """The sanitized ``result`` of the run's ``runtime_end``; ResultUnavailable otherwise."""
    return sanitize(find_runtime_end(pages, run_id).get("result"))


def assemble_patch(pages: Iterable[list[dict[str, Any]]], run_id: str, chunks: int) -> str:
    """The patch: ``data`` of seq 0..chunks-1 in order; PatchIncomplete if any is missing."""
    found: dict[int, str] = {}
    for _, parsed in records_backward(pages):
        if not isinstance(parsed, dict) or parsed.get("type") != "patch":
            continue
        seq, data = parsed.get("seq"), parsed.get("data")
        if parsed.get("run_id") not in (None, run_id) or not isinstance(data, str):
            continue
        if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < chunks:
            found.setdefault(seq, data)  # newest first: a re-emitted chunk wins
            if len(found) == chunks:
                break
    missing = [i for i in range(chunks) if i not in found]
    if missing:
        raise PatchIncomplete(missing)
    return "".join(found[i] for i in range(chunks))


def clone_commit(pages: Iterable[list[dict[str, Any]]], run_id: str) -> str | None:
    """The commit the run's workspace was cloned at: ``base_commit`` of its ``repo_ready``
    event (near the START of the stream: ``pages`` come oldest first), or None."""
    for page in pages:
        for event in page:
            message = str(event.get("message", ""))
            if not message.startswith('{"type":"repo_ready"'):
                continue
            parsed = _first_value(message)
            if isinstance(parsed, dict) and parsed.get("run_id") in (None, run_id):
                return _sha(parsed.get("base_commit"))
    return None


def model_cost(result: Any) -> float | None:
    """``result.usage.cost_usd`` of a stored result, or None when unknown."""
    if not isinstance(result, dict) or not isinstance(result.get("usage"), dict):
        return None
    value = result["usage"].get("cost_usd")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
