"""Timestamps as the table stores them: ISO-8601 UTC text with milliseconds and a ``Z``.

One format everywhere means stored times sort lexically (the ``by_time`` index relies on it)
and the cost estimate can parse whatever the record holds, whether it came from an
EventBridge event (text) or from boto3 (datetimes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """UTC now as ISO-8601 with milliseconds (sorts lexically)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """ISO-8601 text (as stored) to an aware datetime; None stays None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_iso(value: Any) -> str | None:
    """ECS timestamps arrive as ISO text (EventBridge) or datetimes (boto3); store ISO text."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        dt = parse_time(str(value))
        if dt is None:
            return None
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
