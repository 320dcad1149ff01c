"""The kills drill's time travel: a record aged in the table is judged as old as the drill says,
and nothing but its times moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.drill.kills import AGED_SECONDS, PENDING_STALE_SECONDS, age_record
from toolchain.paths import PROJECT_ROOT

TABLE = "runs"


@pytest.fixture
def ctx() -> Iterator[Any]:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield SimpleNamespace(db=db, table=TABLE)


def _item(ctx: Any, run_id: str) -> dict[str, Any]:
    key = {"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}
    return ctx.db.get_item(TableName=TABLE, Key=key)["Item"]


def test_aging_moves_the_creation_past_the_reapers_threshold(ctx: Any) -> None:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    item = {
        "pk": {"S": "RUN#r1"},
        "sk": {"S": "RUN"},
        "run_id": {"S": "r1"},
        "status": {"S": "PENDING"},
        "slot_held": {"BOOL": True},
        "created_at": {"S": now},
        "updated_at": {"S": now},
        "gsi1sk": {"S": f"{now}#r1"},
    }
    ctx.db.put_item(TableName=TABLE, Item=item)
    age_record(ctx, "r1", AGED_SECONDS)
    aged = _item(ctx, "r1")
    created = datetime.fromisoformat(aged["created_at"]["S"].replace("Z", "+00:00"))
    age = (datetime.now(UTC) - created).total_seconds()
    assert PENDING_STALE_SECONDS < age < AGED_SECONDS + 30
    assert aged["updated_at"] == aged["created_at"]
    assert aged["gsi1sk"]["S"] == f"{aged['created_at']['S']}#r1"  # the time index agrees
    rest = {k: v for k, v in aged.items() if k not in ("created_at", "updated_at", "gsi1sk")}
    assert rest == {
        k: v for k, v in item.items() if k not in ("created_at", "updated_at", "gsi1sk")
    }


def test_aging_never_creates_a_record(ctx: Any) -> None:
    with pytest.raises(ctx.db.exceptions.ConditionalCheckFailedException):
        age_record(ctx, "missing", AGED_SECONDS)


def test_the_drill_ages_by_the_reapers_own_threshold() -> None:
    """The API package is its own Lambda bundle (not importable here): read its constant."""
    source = (PROJECT_ROOT / "chalice_api/chalicelib/runs/reaper.py").read_text()
    assert f"\nPENDING_STALE_SECONDS = {PENDING_STALE_SECONDS}\n" in source
