"""The run item's key and the shapes of the table's items.

Table schema this module relies on (the foundation stack must match it):

* primary key ``pk`` (S, hash) / ``sk`` (S, range);
* GSI ``by_time``: ``gsi1pk`` (S, hash) / ``gsi1sk`` (S, range), projection ALL;
* TTL attribute ``expires_at`` (epoch seconds).

Items:

* run      ``pk=RUN#<run_id>`` ``sk=RUN`` ``gsi1pk=RUNS`` ``gsi1sk=<created_at>#<run_id>``
  (a continued run's record holds ``active_continuation``: its newest continuation's id)
* idem key ``pk=IDEMPOTENCY#<sha256(sub, key)>`` ``sk=IDEMPOTENCY`` (``idempotency.py``)
* counter  ``pk=COUNTER#ACTIVE_RUNS``           ``sk=COUNTER`` attribute ``active`` (``counter.py``)
* claim    ``pk=EGRESS#RUN_DOMAINS`` ``sk=CLAIM#<run_id>#<domain>``: one per run and name,
  ``expires_at`` once released (``egress_claims.py``; one item ``sk=EGRESS`` held all before)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dynamo_values import to_av

RUNS_PARTITION = "RUNS"
GSI_NAME = "by_time"
RUN_RETENTION_SECONDS = 90 * 24 * 3600
# Position of each action in the create transaction (CancellationReasons come in this order);
# a continuation's claim on its parent comes last (after the key's claim, when there is one).
CREATE_RUN, CREATE_SLOT, CREATE_KEY = 0, 1, 2
# The parent's attribute naming its running continuation (one at a time per parent).
ACTIVE_CONTINUATION = "active_continuation"


class CreateRejected(Exception):
    """The create transaction was cancelled; ``reason`` is 'idempotency', 'capacity', 'exists',
    'continuation' (then ``holder`` is the parent's continuation that is still running) or
    'conflict' (it kept colliding with other writes; nothing was written)."""

    def __init__(self, reason: str, holder: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.holder = holder


def run_key(run_id: str) -> dict[str, Any]:
    """Primary key of a run record."""
    return {"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}


@dataclass
class Transition:
    """Result of a status transition: whether it applied, whether it released a slot, and the
    run's status afterwards (None when there is no such run)."""

    applied: bool
    released_slot: bool = False
    status: str | None = None


def run_item(record: dict[str, Any]) -> dict[str, Any]:
    """A run record as its DynamoDB item: key, ``by_time`` index attributes, values."""
    item = {k: to_av(v) for k, v in record.items()}
    item.update(run_key(record["run_id"]))
    item["gsi1pk"] = {"S": RUNS_PARTITION}
    item["gsi1sk"] = {"S": f"{record['created_at']}#{record['run_id']}"}
    return item
