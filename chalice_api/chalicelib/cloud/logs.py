"""Read a run's agent output from CloudWatch Logs, one page at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..core import aws
from ..core.errors import BadRequest

# The agent container logs with the awslogs stream prefix "agent".
STREAM_PREFIX = "agent"


def stream_name(container_name: str, task_id: str) -> str:
    """awslogs names streams ``<prefix>/<container>/<task-id>``."""
    return f"{STREAM_PREFIX}/{container_name}/{task_id}"


class LogReader:
    """Pages through one log stream from its start."""

    def __init__(self, log_group: str, client: Any | None = None):
        self.log_group = log_group
        self._client = client

    api = aws.LazyClient("logs")

    def page(self, stream: str, token: str | None, limit: int) -> dict[str, Any]:
        """One page of events; ``next_token`` resumes after it (also once more are written)."""
        kwargs: dict[str, Any] = {
            "logGroupName": self.log_group,
            "logStreamName": stream,
            "startFromHead": True,
            "limit": limit,
        }
        if token:
            kwargs["nextToken"] = token
        try:
            resp = self.api.get_log_events(**kwargs)
        except Exception as exc:
            code = aws.error_code(exc)
            if code == "ResourceNotFoundException":
                return {"events": [], "next_token": None, "end_of_stream": True}
            if code == "InvalidParameterException":
                raise BadRequest("next_token is not valid") from None
            raise
        events = [_event(e) for e in resp.get("events", [])]
        forward = resp.get("nextForwardToken")
        return {
            "events": events,
            "next_token": forward,
            "end_of_stream": not events or forward == token,
        }

    def head(self, stream: str, max_pages: int) -> Iterator[list[dict[str, Any]]]:
        """Raw event pages from the START of a stream (each in time order), at most
        ``max_pages`` calls; a missing stream raises ResourceNotFoundException."""
        return self._pages(stream, max_pages, from_head=True)

    def tail(
        self, stream: str, max_pages: int, limit: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw event pages from the END of a stream backwards (each page in time order).

        At most ``max_pages`` calls; stops at the stream's start. A missing stream raises
        the client's ResourceNotFoundException (callers turn it into a reason).
        """
        return self._pages(stream, max_pages, from_head=False, limit=limit)

    def _pages(
        self, stream: str, max_pages: int, *, from_head: bool, limit: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """GetLogEvents page by page in one direction, until a page is empty or the token
        stops moving (CloudWatch repeats the last token at either end of a stream)."""
        token: str | None = None
        for _ in range(max_pages):
            kwargs: dict[str, Any] = {
                "logGroupName": self.log_group,
                "logStreamName": stream,
                "startFromHead": from_head,
            }
            if limit:
                kwargs["limit"] = limit
            if token:
                kwargs["nextToken"] = token
            resp = self.api.get_log_events(**kwargs)
            events = resp.get("events", [])
            if not events:
                return
            yield events
            following = resp.get("nextForwardToken" if from_head else "nextBackwardToken")
            if not following or following == token:
                return
            token = following


def _event(raw: dict[str, Any]) -> dict[str, Any]:
    message = str(raw.get("message", ""))
    out: dict[str, Any] = {"timestamp": raw.get("timestamp"), "message": message}
    if message.startswith("{"):
        try:
            parsed = json.loads(message)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            out["data"] = parsed
    return out
