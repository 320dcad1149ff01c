"""Idempotency keys: a client's ``Idempotency-Key`` claimed once per subject for 24 hours.

A retried POST must return the run the first attempt created, never start a second task, and
the same key with a different body must be refused. The key is hashed with the caller's
subject (two callers cannot collide or probe each other's keys) and claimed in the same
transaction that writes the run record (``store.py``), so two racing requests with one key
cannot both succeed. This module owns the hashing, the item and its lookup.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from .dynamo_values import from_item

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_hash(subject: str, key: str) -> str:
    """The stored form of a client key: scoped to the subject that sent it."""
    return _sha256(subject + "\n" + key)


def request_hash(kind: str, canonical_body: str) -> str:
    """What a replay must match: the kind (run or session) and the canonical request body."""
    return _sha256(kind + "\n" + canonical_body)


def item_key(hashed: str) -> dict[str, Any]:
    """Primary key of an idempotency item."""
    return {"pk": {"S": f"IDEMPOTENCY#{hashed}"}, "sk": {"S": "IDEMPOTENCY"}}


def claim(table: str, hashed: str, run_id: str, request: str, now: int) -> dict[str, Any]:
    """TransactWriteItems action claiming the key for ``run_id`` unless a live claim exists."""
    return {
        "Put": {
            "TableName": table,
            "Item": {
                **item_key(hashed),
                "run_id": {"S": run_id},
                "request_hash": {"S": request},
                "expires_at": {"N": str(now + IDEMPOTENCY_TTL_SECONDS)},
            },
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
            "ExpressionAttributeValues": {":now": {"N": str(now)}},
        }
    }


def lookup(db: Any, table: str, hashed: str) -> dict[str, Any] | None:
    """The claim for a hashed key, ignoring one whose TTL has passed (TTL deletes lazily)."""
    resp = db.get_item(TableName=table, Key=item_key(hashed), ConsistentRead=True)
    item = resp.get("Item")
    if not item:
        return None
    record = from_item(item)
    if int(record.get("expires_at", 0)) < int(time.time()):
        return None
    return record
