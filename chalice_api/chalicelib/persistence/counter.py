"""The active-run counter: the item that enforces ``MAX_CONCURRENT_RUNS`` across containers.

Runs and sessions together may hold at most ``MAX_CONCURRENT_RUNS`` slots. Lambda containers
share nothing but the table, so the cap is one counter item (``COUNTER#ACTIVE_RUNS``/
``COUNTER``, attribute ``active``) changed only inside the transactions ``store.py`` writes:
a conditional increment beside the new run record, a decrement beside the run's
``slot_held`` flip. This module builds those two actions and reads the count.
"""

from __future__ import annotations

from typing import Any

from .dynamo_values import from_item

COUNTER_KEY = {"pk": {"S": "COUNTER#ACTIVE_RUNS"}, "sk": {"S": "COUNTER"}}


def take_slot(table: str, max_active: int) -> dict[str, Any]:
    """TransactWriteItems action: ``active += 1``, cancelled when ``active >= max_active``."""
    return {
        "Update": {
            "TableName": table,
            "Key": COUNTER_KEY,
            "UpdateExpression": "SET active = if_not_exists(active, :zero) + :one",
            "ConditionExpression": "attribute_not_exists(active) OR active < :max",
            "ExpressionAttributeValues": {
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":max": {"N": str(max_active)},
            },
        }
    }


def release_slot(table: str) -> dict[str, Any]:
    """TransactWriteItems action: ``active -= 1`` (the run's own update guards exactly-once)."""
    return {
        "Update": {
            "TableName": table,
            "Key": COUNTER_KEY,
            "UpdateExpression": "SET active = active - :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def active_count(db: Any, table: str) -> int:
    """Slots currently taken (for admin/diagnostics)."""
    resp = db.get_item(TableName=table, Key=COUNTER_KEY, ConsistentRead=True)
    return int(from_item(resp.get("Item", {})).get("active", 0))
