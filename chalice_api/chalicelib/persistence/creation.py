"""Creating a run: one transaction for its record, its slot, its key and its parent.

Creating a run writes the run record, takes a slot in the counter (conditional on
``active < max``), claims the idempotency key and - for a continuation - names the run on its
parent (``continuation_claims.py``) in one TransactWriteItems, so there is no window where a
slot is taken without a record, two runs share a key or a parent has two running
continuations. A cancelled transaction becomes CreateRejected naming which condition failed.

DynamoDB also cancels a transaction that collided with another write to one of its items
(``TransactionConflict``, no condition failed) - under a burst of creates every one of them
touches the one counter item. That is no refusal: the create is tried again after a short
jittered pause, and only a create that keeps colliding is CreateRejected('conflict') (503,
nothing recorded). The rehearsal's embedded AWS serializes transactions and never collides;
tests/chalice_api/test_create_conflicts.py plays DynamoDB's answer.
"""

from __future__ import annotations

import random
import time
from typing import Any

from ..core import aws
from . import continuation_claims, counter, idempotency
from .items import CREATE_KEY, CREATE_RUN, CREATE_SLOT, CreateRejected, run_item

# A create cancelled only by colliding writes is tried this many times in all, pausing a
# jittered 0.5-1 x CONFLICT_PAUSE_SECONDS x the attempt between (AWS's advice for
# TransactionConflict: back off and retry).
CONFLICT_ATTEMPTS = 3
CONFLICT_PAUSE_SECONDS = 0.05


def create_run(
    db: Any,
    table: str,
    record: dict[str, Any],
    max_active: int,
    claim: tuple[str, str] | None,
    continues: str | None,
) -> None:
    """The create transaction; for a continuation whose parent names one that has ended (or
    whose record is gone), that name is cleared and the transaction tried once more; one that
    collided with another write is tried up to CONFLICT_ATTEMPTS times."""
    released = False
    conflicts = 0
    while True:
        try:
            _transact(db, table, record, max_active, claim, continues)
            return
        except CreateRejected as exc:
            if exc.reason == "conflict" and conflicts + 1 < CONFLICT_ATTEMPTS:
                conflicts += 1
                time.sleep(random.uniform(0.5, 1.0) * CONFLICT_PAUSE_SECONDS * conflicts)
                continue
            if exc.reason != "continuation" or continues is None:
                raise
            holder = continuation_claims.release_if_ended(db, table, continues)
            exc.holder = holder.run_id
            if holder.running or released:
                raise
            released = True


def _transact(
    db: Any,
    table: str,
    record: dict[str, Any],
    max_active: int,
    claim: tuple[str, str] | None,
    continues: str | None,
) -> None:
    put = {"TableName": table, "Item": run_item(record)}
    actions = [
        {"Put": {**put, "ConditionExpression": "attribute_not_exists(pk)"}},
        counter.take_slot(table, max_active),
    ]
    if claim:
        key_hash, request_hash = claim
        now = int(time.time())
        actions.append(idempotency.claim(table, key_hash, record["run_id"], request_hash, now))
    parent_at = len(actions)
    if continues is not None:
        actions.append(continuation_claims.claim_parent(table, continues, record["run_id"]))
    try:
        db.transact_write_items(TransactItems=actions)
    except Exception as exc:
        if aws.error_code(exc) != "TransactionCanceledException":
            raise
        reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
        failed = [r.get("Code") == "ConditionalCheckFailed" for r in reasons]
        if not any(failed) and any(r.get("Code") == "TransactionConflict" for r in reasons):
            raise CreateRejected("conflict") from None
        if claim and len(failed) > CREATE_KEY and failed[CREATE_KEY]:
            raise CreateRejected("idempotency") from None
        if continues is not None and len(failed) > parent_at and failed[parent_at]:
            raise CreateRejected("continuation") from None
        if len(failed) > CREATE_SLOT and failed[CREATE_SLOT]:
            raise CreateRejected("capacity") from None
        if failed and failed[CREATE_RUN]:
            raise CreateRejected("exists") from None
        raise
