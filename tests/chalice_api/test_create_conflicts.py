"""A create that collides with other writes is tried again, never a 500 (issue 25).

DynamoDB cancels a transaction that collided with another write to one of its items with the
reason ``TransactionConflict`` and no failed condition - under a burst of creates they all
write the one counter item. The embedded AWS serializes transactions and never answers so, so
these tests play DynamoDB's answer on the app's own client: a conflict is retried, and one
that persists is a 503 with nothing recorded and no slot taken.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalicelib.core import aws
from chalicelib.persistence import creation

from tests.support.control_api import Env
from tests.support.runs import active

VALID = {"prompt": "Write a haiku", "provider": "openai", "model": "gpt-5"}


def _conflict() -> ClientError:
    reasons = [{"Code": "None"}, {"Code": "TransactionConflict"}]
    error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
    return ClientError({"Error": error, "CancellationReasons": reasons}, "TransactWriteItems")


@pytest.fixture
def collisions(api_env: Env, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The next N TransactWriteItems calls collide (set ``collisions[0]``); counts the calls."""
    db = aws.client("dynamodb")
    real = db.transact_write_items
    state = [0, 0]  # [collisions to come, calls]

    def transact(**kwargs: Any) -> Any:
        state[1] += 1
        if state[0] > 0:
            state[0] -= 1
            raise _conflict()
        return real(**kwargs)

    monkeypatch.setattr(db, "transact_write_items", transact)
    monkeypatch.setattr(creation, "CONFLICT_PAUSE_SECONDS", 0.0)
    return state


def _create(client: Any, headers: dict[str, str]) -> Any:
    return client.http.post("/v1/runs", headers=headers, body=json.dumps(VALID).encode())


def test_a_create_that_collided_is_tried_again_and_recorded(
    client: Any, headers: dict[str, str], api_env: Env, collisions: list[int]
) -> None:
    collisions[0] = creation.CONFLICT_ATTEMPTS - 1
    response = _create(client, headers)
    assert response.status_code == 202, response.json_body
    assert collisions[1] == creation.CONFLICT_ATTEMPTS
    assert active(api_env) == 1


def test_a_create_that_keeps_colliding_is_a_503_with_nothing_recorded(
    client: Any, headers: dict[str, str], api_env: Env, collisions: list[int]
) -> None:
    collisions[0] = creation.CONFLICT_ATTEMPTS
    response = _create(client, headers)
    assert response.status_code == 503, response.json_body
    error = response.json_body["error"]
    assert error["code"] == "busy" and "nothing was recorded" in error["message"]
    assert active(api_env) == 0
    listed = client.http.get("/v1/runs", headers=headers).json_body
    assert listed["runs"] == []
