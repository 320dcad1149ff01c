"""Egress claims: which active run holds which per-run egress domain, one item per claim.

Each (run, name) a run asks for is its own small item in the run table's partition
``EGRESS#RUN_DOMAINS``: ``sk=CLAIM#<run_id>#<name>``, attributes ``run_id`` and ``domain``.
A run claims all its names in one transaction; releasing marks each claim ``released_at`` and
lets the table's TTL (``expires_at``) delete it later - the control role has no DeleteItem,
records expire. The names open for runs are the distinct ``domain`` of the claims not
released (see ``runs/egress.py`` for why the DNS Firewall list follows them). An item is a few
hundred bytes whatever the number of runs, so no claim set can reach DynamoDB's 400 KB item
limit, which one shared item of every run's names could (100 runs x 20 names x 253 chars).

Before, every claim sat in one item, ``sk=EGRESS`` (attribute ``runs``: run id -> names). Its
claims still count when a deployment is upgraded with runs active, until the reaper moves them
into claim items (:func:`migrate_legacy`).
"""

from __future__ import annotations

import time
from typing import Any

from ..core import aws

PARTITION = "EGRESS#RUN_DOMAINS"
CLAIM_PREFIX = "CLAIM#"
LEGACY_KEY = {"pk": {"S": PARTITION}, "sk": {"S": "EGRESS"}}
# A released claim stays (as history) until the TTL deletes it; it no longer counts.
RELEASED_RETENTION_SECONDS = 24 * 3600


def claim_key(run_id: str, domain: str) -> dict[str, Any]:
    """Primary key of one run's claim on one name."""
    return {"pk": {"S": PARTITION}, "sk": {"S": f"{CLAIM_PREFIX}{run_id}#{domain}"}}


def _active(db: Any, table: str, prefix: str) -> list[tuple[str, str]]:
    """(run id, name) of every claim not released whose key starts with ``prefix``; every
    page, strongly consistent (a removal must never miss a claim written before it)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :c)",
        "FilterExpression": "attribute_not_exists(released_at)",
        "ExpressionAttributeValues": {":p": {"S": PARTITION}, ":c": {"S": prefix}},
        "ConsistentRead": True,
    }
    found: list[tuple[str, str]] = []
    while True:
        page = db.query(**kwargs)
        found += [(i["run_id"]["S"], i["domain"]["S"]) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _legacy(db: Any, table: str) -> dict[str, list[str]]:
    item = db.get_item(TableName=table, Key=LEGACY_KEY, ConsistentRead=True).get("Item", {})
    runs = item.get("runs", {}).get("M", {})
    return {run: [v["S"] for v in names.get("L", []) if "S" in v] for run, names in runs.items()}


def claims(db: Any, table: str) -> dict[str, list[str]]:
    """run id -> the names it claims (claims not released, and the old item's)."""
    out: dict[str, list[str]] = {}
    for run_id, domain in _active(db, table, CLAIM_PREFIX):
        out.setdefault(run_id, []).append(domain)
    for run_id, names in _legacy(db, table).items():
        held = out.setdefault(run_id, [])
        held += [name for name in names if name not in held]
    return out


def claim(db: Any, table: str, run_id: str, domains: tuple[str, ...]) -> None:
    """Record the run's names, all or none (before they are added to the list)."""
    now = int(time.time())
    db.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": {
                        **claim_key(run_id, domain),
                        "run_id": {"S": run_id},
                        "domain": {"S": domain},
                        "claimed_at": {"N": str(now)},
                    },
                }
            }
            for domain in domains
        ]
    )


def unclaim(db: Any, table: str, run_id: str) -> bool:
    """Release the run's claims; False when it held none (repeats are no-ops)."""
    now = int(time.time())
    released = False
    for _, domain in _active(db, table, f"{CLAIM_PREFIX}{run_id}#"):
        try:
            db.update_item(
                TableName=table,
                Key=claim_key(run_id, domain),
                UpdateExpression="SET released_at = :now, expires_at = :exp",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(released_at)",
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":exp": {"N": str(now + RELEASED_RETENTION_SECONDS)},
                },
            )
        except Exception as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            continue  # released meanwhile by another delivery of the same stop
        released = True
    return released


def migrate_legacy(db: Any, table: str) -> list[str]:
    """Move the old single item's claims into claim items and empty it (the TTL deletes it);
    the run ids moved. The reaper calls this before it drops claims of finished runs."""
    runs = _legacy(db, table)
    if not runs:
        return []
    for run_id, names in sorted(runs.items()):
        if names:
            claim(db, table, run_id, tuple(names))
    db.update_item(
        TableName=table,
        Key=LEGACY_KEY,
        UpdateExpression="REMOVE #runs SET expires_at = :now",
        ExpressionAttributeNames={"#runs": "runs"},
        ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
    )
    return sorted(runs)
