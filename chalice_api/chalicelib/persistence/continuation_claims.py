"""One running continuation per parent: the parent record's ``active_continuation``.

A continuation names itself on its parent inside the create transaction ``store.py`` writes
(:func:`claim_parent`, only while the parent names none), so two continuations of one parent
can never both start, whatever the Lambda containers do at once. Nothing clears the name when
the continuation ends; the next continuation of that parent does, lazily
(:func:`release_if_ended`): a named run that is terminal, or whose record is gone, is removed
conditionally - only while it is still the one named, so a newer claim is never cleared - and
the create is tried once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import aws
from ..core.statuses import TERMINAL
from .dynamo_values import from_item
from .items import ACTIVE_CONTINUATION, run_key


@dataclass(frozen=True)
class Holder:
    """The continuation a parent names (``run_id``, None when none) and whether it runs."""

    run_id: str | None
    running: bool


def claim_parent(table: str, parent_id: str, run_id: str) -> dict[str, Any]:
    """TransactWriteItems action: name ``run_id`` the parent's running continuation,
    cancelled when the parent names one already (or does not exist)."""
    return {
        "Update": {
            "TableName": table,
            "Key": run_key(parent_id),
            "UpdateExpression": "SET #c = :c",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#c)",
            "ExpressionAttributeNames": {"#c": ACTIVE_CONTINUATION},
            "ExpressionAttributeValues": {":c": {"S": run_id}},
        }
    }


def _get(db: Any, table: str, run_id: str) -> dict[str, Any] | None:
    item = db.get_item(TableName=table, Key=run_key(run_id), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def release_if_ended(db: Any, table: str, parent_id: str) -> Holder:
    """Clear the parent's continuation when it has ended (or its record is gone); the holder
    found, ``running`` when it still runs (then nothing is changed)."""
    parent = _get(db, table, parent_id)
    holder = parent.get(ACTIVE_CONTINUATION) if parent else None
    if not isinstance(holder, str):
        return Holder(None, False)  # cleared meanwhile (or the parent is gone: a retry says so)
    child = _get(db, table, holder)
    if child is not None and child.get("status") not in TERMINAL:
        return Holder(holder, True)
    try:
        db.update_item(
            TableName=table,
            Key=run_key(parent_id),
            UpdateExpression="REMOVE #c",
            ConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": ACTIVE_CONTINUATION},
            ExpressionAttributeValues={":c": {"S": holder}},
        )
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        # Another request cleared it (or named a newer one): the retry finds out which.
    return Holder(holder, False)
