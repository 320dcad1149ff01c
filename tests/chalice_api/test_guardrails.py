"""Idempotency and the concurrency cap, including under concurrent requests (threads).

The threads call the run service directly, each with its own service instance (like separate
Lambda containers). Chalice's test client is not thread-safe: it swaps ``os.environ`` and the
app's ``current_request`` per call, which real Lambda never shares between requests.
moto executes DynamoDB requests without the per-item atomicity DynamoDB guarantees, so the
tests serialize moto's DynamoDB handler - the app's own conditional writes do the rest.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from chalicelib.core import aws
from chalicelib.core import config as cfg
from chalicelib.core.errors import ApiError, TooManyRuns
from chalicelib.persistence import store
from chalicelib.runs.deployment import Runs as RunService
from chalicelib.runs.request import RunRequest

from tests.support.control_api import Env, task_event

VALID = {"prompt": "Refactor utils", "provider": "google", "model": "gemini-2.5-pro"}


def post(client: Any, headers: dict[str, str], body: Any, key: str | None = None) -> Any:
    h = dict(headers)
    if key is not None:
        h["Idempotency-Key"] = key
    return client.http.post("/v1/runs", headers=h, body=json.dumps(body).encode())


def task_count(api_env: Env) -> int:
    return len(aws.client("ecs").list_tasks(cluster=api_env.cluster_arn)["taskArns"])


def test_same_key_same_body_returns_the_same_run(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    first = post(client, headers, VALID, "deploy-42")
    second = post(client, headers, VALID, "deploy-42")
    assert first.status_code == second.status_code == 202
    assert first.json_body["run_id"] == second.json_body["run_id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert task_count(api_env) == 1


def test_same_key_different_body_is_409(client: Any, headers: dict[str, str]) -> None:
    assert post(client, headers, VALID, "k1").status_code == 202
    resp = post(client, headers, {**VALID, "prompt": "something else"}, "k1")
    assert resp.status_code == 409
    assert json.loads(resp.body)["error"]["code"] == "conflict"
    # A session with the same key is a different request too.
    h = {**headers, "Idempotency-Key": "k1"}
    assert client.http.post("/v1/sessions", headers=h, body=b"{}").status_code == 409


def test_keys_are_scoped_per_subject(
    client: Any, headers: dict[str, str], make_token: Any, api_env: Env
) -> None:
    other = {
        **headers,
        "Authorization": f"Bearer {make_token(sub='repo:acme/agents:environment:staging')}",
    }
    a = post(client, headers, VALID, "shared")
    b = post(client, other, VALID, "shared")
    assert a.json_body["run_id"] != b.json_body["run_id"]


@pytest.mark.parametrize("key", ["", "a b", "x" * 129, "ключ", "a\tb"])
def test_bad_idempotency_keys_are_400(client: Any, headers: dict[str, str], key: str) -> None:
    assert post(client, headers, VALID, key).status_code == 400


def test_cap_is_429_with_a_clear_message_and_frees_on_stop(
    client: Any, headers: dict[str, str], api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_RUNS", "2")
    cfg.reset()
    runs = [post(client, headers, VALID).json_body for _ in range(2)]
    resp = post(client, headers, VALID)
    assert resp.status_code == 429
    message = json.loads(resp.body)["error"]["message"]
    assert "concurrency limit" in message and "2" in message
    # A refused request leaves no record and no task behind.
    assert len(client.http.get("/v1/runs", headers=headers).json_body["runs"]) == 2
    assert task_count(api_env) == 2
    arn = client.http.get(f"/v1/runs/{runs[0]['run_id']}", headers=headers).json_body["task_arn"]
    client.lambda_.invoke("task_state", task_event(api_env, runs[0]["run_id"], arn, "STOPPED"))
    assert post(client, headers, VALID).status_code == 202


def test_cap_holds_under_concurrent_requests(
    api_env: Env, atomic_dynamodb: None, provider_keys: dict[str, str]
) -> None:
    settings = cfg.from_env({**api_env.env, "MAX_CONCURRENT_RUNS": "3"})
    req = RunRequest(prompt="p", provider="xai", model="grok-4", max_runtime_seconds=60)

    def one(i: int) -> str:
        try:
            body, _ = RunService(settings).create("sub", req, None, interactive=False)
            return body["status"]
        except TooManyRuns:
            return "429"

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(one, range(12)))
    assert results.count("429") == 9
    assert sorted(r for r in results if r != "429") == ["STARTING"] * 3
    assert store.Store(api_env.table).active_count() == 3
    assert task_count(api_env) == 3


def test_idempotency_holds_under_concurrent_requests(
    api_env: Env, atomic_dynamodb: None, provider_keys: dict[str, str]
) -> None:
    settings = cfg.from_env(api_env.env)
    req = RunRequest(prompt="p", provider="xai", model="grok-4", max_runtime_seconds=60)
    barrier = threading.Barrier(8)

    def one(i: int) -> str:
        barrier.wait()
        try:
            body, _ = RunService(settings).create("sub", req, "same-key", interactive=False)
            return body["run_id"]
        except ApiError as exc:  # the loser of a race may see 409 "in progress"
            return f"{exc.status}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    ids = {r for r in results if r.startswith("run_")}
    assert len(ids) == 1
    assert task_count(api_env) == 1
    assert store.Store(api_env.table).active_count() == 1


def test_slot_released_exactly_once_under_concurrent_events(
    client: Any, headers: dict[str, str], api_env: Env, atomic_dynamodb: None
) -> None:
    run = post(client, headers, VALID).json_body
    arn = client.http.get(f"/v1/runs/{run['run_id']}", headers=headers).json_body["task_arn"]
    settings = cfg.from_env(api_env.env)
    event = task_event(api_env, run["run_id"], arn, "STOPPED", exit_code=0)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: RunService(settings).handle_task_event(event), range(6)))
    assert sum(r["released_slot"] for r in results) == 1
    assert store.Store(api_env.table).active_count() == 0
