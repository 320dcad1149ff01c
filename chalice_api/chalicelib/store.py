"""The single DynamoDB table: run records, idempotency keys and the active-run counter.

Table schema this module relies on (the foundation stack must match it):

* primary key ``pk`` (S, hash) / ``sk`` (S, range);
* GSI ``by_time``: ``gsi1pk`` (S, hash) / ``gsi1sk`` (S, range), projection ALL;
* TTL attribute ``expires_at`` (epoch seconds).

Items:

* run      ``pk=RUN#<run_id>`` ``sk=RUN`` ``gsi1pk=RUNS`` ``gsi1sk=<created_at>#<run_id>``
* idem key ``pk=IDEMPOTENCY#<sha256(sub, key)>`` ``sk=IDEMPOTENCY`` (expires after 24 h)
* counter  ``pk=COUNTER#ACTIVE_RUNS``           ``sk=COUNTER`` attribute ``active`` (N)

Atomicity: creating a run writes the run record, takes a slot in the counter (conditional on
``active < max``) and claims the idempotency key in one TransactWriteItems, so there is no
window where a slot is taken without a record or two runs share a key. Releasing a slot flips
the run's ``slot_held`` from true to false in the same transaction as the decrement, so a slot is
released exactly once however often the terminal event is delivered. Status only moves forward
(``status_rank``), which makes repeated and reordered ECS events harmless.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from . import aws

log = logging.getLogger(__name__)

RUNS_PARTITION = "RUNS"
COUNTER_KEY = {"pk": {"S": "COUNTER#ACTIVE_RUNS"}, "sk": {"S": "COUNTER"}}
GSI_NAME = "by_time"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
RUN_RETENTION_SECONDS = 90 * 24 * 3600

# Status ranks: a run's status only ever moves to a higher rank.
STATUS_RANK = {
    "PENDING": 0,
    "STARTING": 1,
    "RUNNING": 2,
    "STOPPING": 3,
    "STOPPED": 4,
    "FAILED_TO_START": 4,
}
TERMINAL = {"STOPPED", "FAILED_TO_START"}


class CreateRejected(Exception):
    """The create transaction was cancelled; ``reason`` is 'idempotency', 'capacity' or 'exists'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def now_iso() -> str:
    """UTC now as ISO-8601 with milliseconds (sorts lexically)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_av(value: Any) -> dict[str, Any]:
    """Python value to a DynamoDB AttributeValue (the subset this table uses).

    Numbers travel as text: ints as is, Decimals and finite floats in their exact decimal form
    (DynamoDB numbers are decimal; a float's ``repr`` is its shortest round-trip text).
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, (float, Decimal)):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise TypeError("DynamoDB numbers must be finite")
        return {"N": str(number)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): to_av(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_av(v) for v in value]}
    raise TypeError(f"unsupported attribute type {type(value).__name__}")


def from_av(av: dict[str, Any]) -> Any:
    """DynamoDB AttributeValue to a Python value (numbers: int when integral, else float)."""
    if "S" in av:
        return av["S"]
    if "N" in av:
        text = av["N"]
        return int(text) if text.lstrip("-").isdigit() else float(text)
    if "BOOL" in av:
        return av["BOOL"]
    if "NULL" in av:
        return None
    if "M" in av:
        return {k: from_av(v) for k, v in av["M"].items()}
    if "L" in av:
        return [from_av(v) for v in av["L"]]
    raise TypeError("unsupported attribute value")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item to a plain dict."""
    return {k: from_av(v) for k, v in item.items()}


def parse_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """Like from_item, but an item this code cannot read is logged and returned as None.

    The table is shared with nothing else, but one bad item (written by hand, by an older
    version, or by anything that once had write access) must not break listing or the reaper.
    """
    try:
        return from_item(item)
    except Exception as exc:
        key = item.get("pk", {}).get("S", "?") if isinstance(item.get("pk"), dict) else "?"
        log.warning("skipping unreadable item %s: %s", str(key)[:80], exc)
        return None


def run_key(run_id: str) -> dict[str, Any]:
    """Primary key of a run record."""
    return {"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}


@dataclass
class Transition:
    """Result of a status transition: whether it applied and whether it released a slot."""

    applied: bool
    released_slot: bool = False


class Store:
    """Data access for runs; one instance per table name."""

    def __init__(self, table_name: str, client: Any | None = None):
        self.table = table_name
        self._client = client

    @property
    def db(self) -> Any:
        """The DynamoDB client (created on first use)."""
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

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
        resp = self.db.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"IDEMPOTENCY#{key_hash}"}, "sk": {"S": "IDEMPOTENCY"}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        if not item:
            return None
        record = from_item(item)
        if int(record.get("expires_at", 0)) < int(time.time()):
            return None
        return record

    def active_count(self) -> int:
        """Slots currently taken (for admin/diagnostics)."""
        resp = self.db.get_item(TableName=self.table, Key=COUNTER_KEY, ConsistentRead=True)
        return int(from_item(resp.get("Item", {})).get("active", 0))

    # -- writes ----------------------------------------------------------------------------

    def create_run(
        self,
        record: dict[str, Any],
        max_active: int,
        idempotency: tuple[str, str] | None,
    ) -> None:
        """Write the run record, take a slot, and claim the idempotency key, atomically.

        ``idempotency`` is (key_hash, request_hash). Raises CreateRejected on a lost race or a
        full cap; the caller decides what that means for the client.
        """
        now = int(time.time())
        item = {k: to_av(v) for k, v in record.items()}
        item.update(run_key(record["run_id"]))
        item["gsi1pk"] = {"S": RUNS_PARTITION}
        item["gsi1sk"] = {"S": f"{record['created_at']}#{record['run_id']}"}
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": COUNTER_KEY,
                    "UpdateExpression": "SET active = if_not_exists(active, :zero) + :one",
                    "ConditionExpression": "attribute_not_exists(active) OR active < :max",
                    "ExpressionAttributeValues": {
                        ":zero": {"N": "0"},
                        ":one": {"N": "1"},
                        ":max": {"N": str(max_active)},
                    },
                }
            },
        ]
        if idempotency:
            key_hash, request_hash = idempotency
            actions.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {
                            "pk": {"S": f"IDEMPOTENCY#{key_hash}"},
                            "sk": {"S": "IDEMPOTENCY"},
                            "run_id": {"S": record["run_id"]},
                            "request_hash": {"S": request_hash},
                            "expires_at": {"N": str(now + IDEMPOTENCY_TTL_SECONDS)},
                        },
                        "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                        "ExpressionAttributeValues": {":now": {"N": str(now)}},
                    }
                }
            )
        try:
            self.db.transact_write_items(TransactItems=actions)
        except Exception as exc:
            if aws.error_code(exc) != "TransactionCanceledException":
                raise
            reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
            codes = [r.get("Code") for r in reasons]
            if len(codes) > 2 and codes[2] == "ConditionalCheckFailed":
                raise CreateRejected("idempotency") from None
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise CreateRejected("capacity") from None
            if codes and codes[0] == "ConditionalCheckFailed":
                raise CreateRejected("exists") from None
            raise

    def transition(
        self, run_id: str, status: str, fields: dict[str, Any], fill: dict[str, Any] | None = None
    ) -> Transition:
        """Move a run forward to ``status`` (never back), setting ``fields``.

        Reaching a terminal status releases the run's slot exactly once and starts its TTL.
        If the run is already at or past ``status``, only ``fill`` attributes that are still
        missing are written (late events may carry timestamps an earlier one lacked).
        """
        rank = STATUS_RANK[status]
        for _ in range(5):
            current = self.get_run(run_id)
            if current is None:
                return Transition(applied=False)
            if int(current.get("status_rank", 0)) >= rank:
                self._fill_missing(run_id, fill or {})
                return Transition(applied=False)
            values = dict(fields)
            # A missing fill value must not be stored as NULL: if_not_exists would keep it.
            values.update({k: v for k, v in (fill or {}).items() if v is not None})
            values["status"] = status
            values["status_rank"] = rank
            values["updated_at"] = now_iso()
            release = status in TERMINAL and bool(current.get("slot_held"))
            if status in TERMINAL:
                values["expires_at"] = int(time.time()) + RUN_RETENTION_SECONDS
                values["slot_held"] = False
            names = {f"#a{i}": k for i, k in enumerate(values)}
            exprs = {f":v{i}": to_av(v) for i, v in enumerate(values.values())}
            exprs[":rank"] = {"N": str(rank)}
            update = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values)))
            condition = "attribute_exists(pk) AND status_rank < :rank"
            if release:
                condition += " AND slot_held = :held"
                exprs[":held"] = {"BOOL": True}
            run_update = {
                "TableName": self.table,
                "Key": run_key(run_id),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": exprs,
            }
            try:
                if release:
                    self.db.transact_write_items(
                        TransactItems=[
                            {"Update": run_update},
                            {
                                "Update": {
                                    "TableName": self.table,
                                    "Key": COUNTER_KEY,
                                    "UpdateExpression": "SET active = active - :one",
                                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                                }
                            },
                        ]
                    )
                else:
                    self.db.update_item(**run_update)
            except Exception as exc:
                if aws.error_code(exc) not in (
                    "ConditionalCheckFailedException",
                    "TransactionCanceledException",
                ):
                    raise
                continue  # lost a race: re-read and decide again
            return Transition(applied=True, released_slot=release)
        return Transition(applied=False)

    def _fill_missing(self, run_id: str, fill: dict[str, Any]) -> None:
        values = {k: v for k, v in fill.items() if v is not None}
        if not values:
            return
        names = {f"#a{i}": k for i, k in enumerate(values)}
        exprs = {f":v{i}": to_av(v) for i, v in enumerate(values.values())}
        update = "SET " + ", ".join(
            f"#a{i} = if_not_exists(#a{i}, :v{i})" for i in range(len(values))
        )
        try:
            self.db.update_item(
                TableName=self.table,
                Key=run_key(run_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=exprs,
            )
        except Exception as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise

    def set_fields(self, run_id: str, fields: dict[str, Any]) -> None:
        """Set informational attributes on an existing run (no status change)."""
        names = {f"#a{i}": k for i, k in enumerate(fields)}
        exprs = {f":v{i}": to_av(v) for i, v in enumerate(fields.values())}
        self.db.update_item(
            TableName=self.table,
            Key=run_key(run_id),
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(fields))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=exprs,
        )

    def set_result(self, run_id: str, fields: dict[str, Any]) -> bool:
        """Store a run's ``result`` (with ``result_error`` etc.) unless a result is already there.

        Idempotent: a stored (non-null) result is never replaced, so repeated STOPPED events
        and the reaper write it once; an earlier ``result: null`` (log not readable yet) may be
        replaced by a later successful read. Returns whether the write happened.
        """
        names = {f"#a{i}": k for i, k in enumerate(fields)}
        exprs = {f":v{i}": to_av(v) for i, v in enumerate(fields.values())}
        names["#r"] = "result"
        exprs[":null"] = {"S": "NULL"}
        try:
            self.db.update_item(
                TableName=self.table,
                Key=run_key(run_id),
                UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(fields))),
                ConditionExpression=(
                    "attribute_exists(pk) AND "
                    "(attribute_not_exists(#r) OR attribute_type(#r, :null))"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=exprs,
            )
        except Exception as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True
