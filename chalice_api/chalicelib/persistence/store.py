"""The single DynamoDB table's run records: create, read, list, move forward, annotate.

Item shapes and the table schema: ``items.py``.

Atomicity: creating a run writes the run record, takes a slot in the counter (conditional on
``active < max``), claims the idempotency key and names a continuation on its parent in one
TransactWriteItems (``creation.py``), so there is no window where a slot is taken without a
record, two runs share a key or a parent has two running continuations. Releasing a slot flips
the run's ``slot_held`` from true to false in the same transaction as the decrement, so a slot is
released exactly once however often the terminal event is delivered. Status only moves forward
(``status_rank``, see ``core/statuses.py``), which makes repeated and reordered ECS events harmless.
"""

from __future__ import annotations

import time
from typing import Any

from ..core import aws
from ..core.statuses import STATUS_RANK, TERMINAL
from ..core.times import now_iso
from . import counter, creation, idempotency
from .dynamo_values import from_item, parse_item, set_expression, to_av
from .items import (
    GSI_NAME,
    RUN_RETENTION_SECONDS,
    RUNS_PARTITION,
    Transition,
    run_key,
)


class Store:
    """Data access for runs; one instance per table name."""

    def __init__(self, table_name: str, client: Any | None = None):
        self.table = table_name
        self._client = client

    db = aws.LazyClient("dynamodb")

    # -- reads -----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """One run record, strongly consistent."""
        resp = self.db.get_item(TableName=self.table, Key=run_key(run_id), ConsistentRead=True)
        item = resp.get("Item")
        return from_item(item) if item else None

    def list_runs(
        self, limit: int, start_key: dict[str, str] | None
    ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """Runs newest first from the ``by_time`` GSI; returns (runs, next key or None)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": GSI_NAME,
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": RUNS_PARTITION}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in start_key.items()}
        resp = self.db.query(**kwargs)
        items = [p for p in (parse_item(i) for i in resp.get("Items", [])) if p is not None]
        last = resp.get("LastEvaluatedKey")
        next_key = {k: v["S"] for k, v in last.items()} if last else None
        return items, next_key

    def get_idempotency(self, key_hash: str) -> dict[str, Any] | None:
        """The idempotency record for a hashed key, ignoring one whose TTL has passed."""
        return idempotency.lookup(self.db, self.table, key_hash)

    def active_count(self) -> int:
        """Slots currently taken (for admin/diagnostics)."""
        return counter.active_count(self.db, self.table)

    # -- writes ----------------------------------------------------------------------------

    def create_run(
        self,
        record: dict[str, Any],
        max_active: int,
        claim: tuple[str, str] | None,
        continues: str | None = None,
    ) -> None:
        """Write the run record, take a slot, and claim the idempotency key, atomically.

        ``claim`` is (key_hash, request_hash); ``continues`` is the parent a continuation
        continues, claimed in the same transaction (``continuation_claims.py``). Raises
        CreateRejected on a lost race, a full cap or a running continuation (``holder``); the
        caller decides what that means for the client (``creation.py``).
        """
        creation.create_run(self.db, self.table, record, max_active, claim, continues)

    def transition(
        self,
        run_id: str,
        status: str,
        fields: dict[str, Any],
        fill: dict[str, Any] | None = None,
        *,
        current: dict[str, Any] | None = None,
        late: dict[str, Any] | None = None,
    ) -> Transition:
        """Move a run forward to ``status`` (never back), setting ``fields``, in one write.

        Reaching a terminal status releases the run's slot exactly once and starts its TTL.
        If the run is already at or past ``status``, only ``fill`` attributes that are still
        missing are written (late events may carry timestamps an earlier one lacked), together
        with ``late`` (set as given; a ``result`` in it never replaces a stored one).
        ``current`` is the record as the caller just read it: the first attempt trusts it (the
        write's condition checks it still holds), only a lost race reads the run again.
        """
        rank = STATUS_RANK[status]
        for _ in range(5):
            if current is None:
                current = self.get_run(run_id)
            if current is None:
                return Transition(applied=False)
            if int(current.get("status_rank", 0)) >= rank:
                self._fill_missing(run_id, fill or {}, late or {})
                return Transition(applied=False, status=current.get("status"))
            release = status in TERMINAL and bool(current.get("slot_held"))
            values = {**fields, **(late or {})}
            # A missing fill value must not be stored as NULL: if_not_exists would keep it.
            values.update({k: v for k, v in (fill or {}).items() if v is not None})
            try:
                self._move(run_id, status, values, release)
            except Exception as exc:
                if aws.error_code(exc) not in (
                    "ConditionalCheckFailedException",
                    "TransactionCanceledException",
                ):
                    raise
                current = None  # lost a race: re-read and decide again
                continue
            return Transition(applied=True, released_slot=release, status=status)
        return Transition(applied=False)

    def _move(self, run_id: str, status: str, values: dict[str, Any], release: bool) -> None:
        """The conditional write of a transition (with the slot's release when ``release``)."""
        rank = STATUS_RANK[status]
        values = {**values, "status": status, "status_rank": rank, "updated_at": now_iso()}
        if status in TERMINAL:
            values["expires_at"] = int(time.time()) + RUN_RETENTION_SECONDS
            values["slot_held"] = False
        expression = set_expression(values)
        expression["ExpressionAttributeValues"][":rank"] = {"N": str(rank)}
        condition = "attribute_exists(pk) AND status_rank < :rank"
        if release:
            condition += " AND slot_held = :held"
            expression["ExpressionAttributeValues"][":held"] = {"BOOL": True}
        run_update = {
            "TableName": self.table,
            "Key": run_key(run_id),
            "ConditionExpression": condition,
            **expression,
        }
        if release:
            self.db.transact_write_items(
                TransactItems=[{"Update": run_update}, counter.release_slot(self.table)]
            )
        else:
            self.db.update_item(**run_update)

    def _fill_missing(self, run_id: str, fill: dict[str, Any], late: dict[str, Any]) -> None:
        """One write: ``fill`` values where missing, ``late`` as given (a ``result`` only where
        none is stored; when one is, the rest is written without it)."""
        values = {k: v for k, v in fill.items() if v is not None}
        if not values and not late:
            return
        expression = set_expression(values, "#a{i} = if_not_exists(#a{i}, :v{i})")
        for i, (name, value) in enumerate(late.items()):
            expression["ExpressionAttributeNames"][f"#l{i}"] = name
            expression["ExpressionAttributeValues"][f":l{i}"] = to_av(value)
        sets = [f"#l{i} = :l{i}" for i in range(len(late))]
        if values:
            sets.insert(0, expression["UpdateExpression"].removeprefix("SET "))
        expression["UpdateExpression"] = "SET " + ", ".join(sets)
        condition = "attribute_exists(pk)"
        if "result" in late:
            expression["ExpressionAttributeNames"]["#r"] = "result"
            expression["ExpressionAttributeValues"][":null"] = {"S": "NULL"}
            condition += " AND (attribute_not_exists(#r) OR attribute_type(#r, :null))"
        try:
            self.db.update_item(
                TableName=self.table,
                Key=run_key(run_id),
                ConditionExpression=condition,
                **expression,
            )
        except Exception as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            if "result" in late:  # a result was stored meanwhile: keep it, write the rest
                rest = {k: v for k, v in late.items() if not k.startswith("result")}
                self._fill_missing(run_id, fill, rest)

    def set_fields(self, run_id: str, fields: dict[str, Any]) -> None:
        """Set informational attributes on an existing run (no status change)."""
        self.db.update_item(
            TableName=self.table,
            Key=run_key(run_id),
            ConditionExpression="attribute_exists(pk)",
            **set_expression(fields),
        )

    def set_fields_if(
        self, run_id: str, fields: dict[str, Any], expected: dict[str, Any], absent: tuple = ()
    ) -> bool:
        """Set ``fields`` only while each ``expected`` attribute holds its value and no
        ``absent`` one exists; returns whether the write happened (a lost race is False)."""
        expression = set_expression(fields)
        names, values = (
            expression["ExpressionAttributeNames"],
            expression["ExpressionAttributeValues"],
        )
        condition = ["attribute_exists(pk)"]
        for i, (name, value) in enumerate(expected.items()):
            names[f"#c{i}"], values[f":c{i}"] = name, to_av(value)
            condition.append(f"#c{i} = :c{i}")
        for i, name in enumerate(absent):
            names[f"#d{i}"] = name
            condition.append(f"attribute_not_exists(#d{i})")
        try:
            self.db.update_item(
                TableName=self.table,
                Key=run_key(run_id),
                ConditionExpression=" AND ".join(condition),
                **expression,
            )
        except Exception as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def set_result(self, run_id: str, fields: dict[str, Any]) -> bool:
        """Store a run's ``result`` (with ``result_error`` etc.) unless a result is already there.

        Idempotent: a stored (non-null) result is never replaced, so repeated STOPPED events
        and the reaper write it once; an earlier ``result: null`` (log not readable yet) may be
        replaced by a later successful read. Returns whether the write happened.
        """
        expression = set_expression(fields)
        expression["ExpressionAttributeNames"]["#r"] = "result"
        expression["ExpressionAttributeValues"][":null"] = {"S": "NULL"}
        try:
            self.db.update_item(
                TableName=self.table,
                Key=run_key(run_id),
                ConditionExpression=(
                    "attribute_exists(pk) AND "
                    "(attribute_not_exists(#r) OR attribute_type(#r, :null))"
                ),
                **expression,
            )
        except Exception as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True
