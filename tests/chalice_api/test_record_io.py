"""How often the run record is read and written: per ECS task-state event and per create.

The app's DynamoDB client is watched (boto3's ``provide-client-params`` event), and every GetItem,
UpdateItem, PutItem and TransactWriteItems item on a ``RUN#`` key is counted. A task-state
event reads the run once and writes it once (a conditional write; only a lost race retries);
a create writes the record and never reads back what it just wrote.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from chalicelib.core import aws

from tests.support.control_api import Env, task_event

VALID = {"prompt": "Write a haiku", "provider": "openai", "model": "gpt-5"}


def _run_keys(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(operation kind, pk) for each run-record access in one request."""
    out = []
    if "Key" in params and str(params["Key"]["pk"]["S"]).startswith("RUN#"):
        out.append(params["Key"]["pk"]["S"])
    if "Item" in params and str(params["Item"]["pk"]["S"]).startswith("RUN#"):
        out.append(params["Item"]["pk"]["S"])
    for action in params.get("TransactItems") or []:
        for body in action.values():
            key = body.get("Key") or body.get("Item") or {}
            if str(key.get("pk", {}).get("S", "")).startswith("RUN#"):
                out.append(key["pk"]["S"])
    return out


@pytest.fixture
def record_io(api_env: Env) -> Counter:
    """Counts 'read' and 'write' of run records by the app's DynamoDB client."""
    counts: Counter = Counter()

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        kind = "read" if model.name == "GetItem" else "write"
        if model.name in ("GetItem", "UpdateItem", "PutItem", "TransactWriteItems"):
            counts[kind] += len(_run_keys(params))

    aws.client("dynamodb").meta.events.register("provide-client-params.dynamodb", count)
    return counts


def _create(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(VALID).encode())
    assert resp.status_code == 202, resp.body
    return resp.json_body


def test_create_writes_the_record_and_does_not_read_it_back(
    client: Any, headers: dict[str, str], record_io: Counter
) -> None:
    _create(client, headers)
    assert (record_io["read"], record_io["write"]) == (
        0,
        2,
    )  # the create transaction, then STARTING with the task


@pytest.mark.parametrize("status", ["RUNNING", "STOPPED"])
def test_a_task_state_event_reads_and_writes_the_run_once(
    client: Any, headers: dict[str, str], api_env: Env, record_io: Counter, status: str
) -> None:
    run = _create(client, headers)
    arn = client.http.get(f"/v1/runs/{run['run_id']}", headers=headers).json_body["task_arn"]
    record_io.clear()
    event = task_event(api_env, run["run_id"], arn, status, exit_code=0)
    out = client.lambda_.invoke("task_state", event).payload
    assert out["applied"] is True
    assert (record_io["read"], record_io["write"]) == (1, 1)


def test_a_stopped_event_with_both_streams_still_reads_and_writes_the_run_once(
    client: Any, headers: dict[str, str], api_env: Env, record_io: Counter, agent_log: Any
) -> None:
    """The result (agent stream) and the billed usage (model proxy stream) ride on the one
    conditional write of the STOPPED transition."""
    run = _create(client, headers)
    run_id = run["run_id"]
    arn = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["task_arn"]
    end = {"type": "runtime_end", "run_id": run_id, "result": {"final_message": "ok"}}
    usage = {"input_tokens": 10, "output_tokens": 2, "cost_usd": 0.01, "calls": 1}
    agent_log(arn, [json.dumps(end)])
    agent_log(
        arn, [json.dumps({"type": "proxy_end", "run_id": run_id, "usage": usage})], "model-proxy"
    )
    record_io.clear()
    out = client.lambda_.invoke("task_state", task_event(api_env, run_id, arn, "STOPPED")).payload
    assert out["applied"] is True
    assert (record_io["read"], record_io["write"]) == (1, 1)
    got = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert got["model_cost_usd"] == 0.01 and got["budget_exceeded"] is False
