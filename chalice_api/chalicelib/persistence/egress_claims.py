"""The egress claims item: which active run holds which per-run egress domains.

One item, ``EGRESS#RUN_DOMAINS``/``EGRESS``, attribute ``runs``: run id -> its names (see
``runs/egress.py`` for why the DNS Firewall list follows these claims).
"""

from __future__ import annotations

from typing import Any

from ..core import aws

CLAIMS_KEY = {"pk": {"S": "EGRESS#RUN_DOMAINS"}, "sk": {"S": "EGRESS"}}


def claims(db: Any, table: str) -> dict[str, list[str]]:
    """run id -> the names it claims (strongly consistent)."""
    resp = db.get_item(TableName=table, Key=CLAIMS_KEY, ConsistentRead=True)
    runs = resp.get("Item", {}).get("runs", {}).get("M", {})
    return {
        run_id: [v["S"] for v in value.get("L", []) if "S" in v] for run_id, value in runs.items()
    }


def claim(db: Any, table: str, run_id: str, domains: tuple[str, ...]) -> None:
    """Record the run's names (before they are added to the list)."""
    # Two writes: a map entry cannot be set in the same expression that creates the map.
    db.update_item(
        TableName=table,
        Key=CLAIMS_KEY,
        UpdateExpression="SET #runs = if_not_exists(#runs, :empty)",
        ExpressionAttributeNames={"#runs": "runs"},
        ExpressionAttributeValues={":empty": {"M": {}}},
    )
    db.update_item(
        TableName=table,
        Key=CLAIMS_KEY,
        UpdateExpression="SET #runs.#run = :names",
        ExpressionAttributeNames={"#runs": "runs", "#run": run_id},
        ExpressionAttributeValues={":names": {"L": [{"S": d} for d in domains]}},
    )


def unclaim(db: Any, table: str, run_id: str) -> bool:
    """Remove the run's claim; False when it held none (repeats are no-ops)."""
    try:
        db.update_item(
            TableName=table,
            Key=CLAIMS_KEY,
            UpdateExpression="REMOVE #runs.#run",
            ConditionExpression="attribute_exists(#runs.#run)",
            ExpressionAttributeNames={"#runs": "runs", "#run": run_id},
        )
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        return False
    return True
