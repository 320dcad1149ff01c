"""A stopped run's patch, joined from its log stream: what ``GET /v1/runs/{id}/patch``
serves and what a continuation carries forward into its bundle.

One assembly for both, so a continuation applies exactly the patch the API shows. Limits
differ by reader: the GET route answers at most what a Lambda response carries
(``results.PATCH_RESPONSE_MAX_BYTES``, checked there); the bundle takes a patch up to the
agent's own cap (``results.PATCH_MAX_BYTES``), which is also the most this reads, since the
log stream is written by the agent's container and is not trusted to keep to it.
"""

from __future__ import annotations

from typing import Any

from ..cloud.ecs import task_id
from ..cloud.logs import LogReader, stream_name
from ..core import aws
from ..core.config import ApiConfig
from . import results


class PatchUnavailable(Exception):
    """The patch cannot be read back whole; the message says why (safe to show)."""


def read_patch(settings: ApiConfig, logs: LogReader, record: dict[str, Any], chunks: int) -> str:
    """The run's patch: the ``data`` of its ``chunks`` patch events in ``seq`` order.

    PatchUnavailable when a chunk or the stream is missing, or the text is over the cap.
    """
    run_id = str(record["run_id"])
    arn = record.get("task_arn")
    if not arn:
        raise PatchUnavailable("the run has no task, so no log stream")
    stream = stream_name(settings.container_name, task_id(str(arn)))
    try:
        text = results.assemble_patch(logs.tail(stream, results.PATCH_PAGES), run_id, chunks)
    except results.PatchIncomplete as exc:
        shown = ", ".join(str(i) for i in exc.missing[:10])
        raise PatchUnavailable(
            f"{len(exc.missing)} of {chunks} chunk(s) are missing from the log stream (seq {shown})"
        ) from None
    except Exception as exc:
        if aws.error_code(exc) == "ResourceNotFoundException":
            raise PatchUnavailable("the run's log stream does not exist") from None
        raise
    if len(text.encode("utf-8", "surrogatepass")) > results.PATCH_MAX_BYTES:
        raise PatchUnavailable(
            f"the patch in the log stream is larger than the {results.PATCH_MAX_BYTES}-byte cap"
        )
    return text
