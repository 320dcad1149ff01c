"""Run lifecycle: RunTask failure, ECS events (repeated, reordered), reaper, cost estimate."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chalicelib.cloud.ecs import RunTaskFailed
from chalicelib.core import aws, times
from chalicelib.persistence import store

from tests.support.control_api import Env, task_event
from tests.support.runs import active, emit, get_run

VALID = {"prompt": "Write a haiku", "provider": "openai", "model": "gpt-5"}


def create(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(VALID).encode())
    assert resp.status_code == 202, resp.body
    return resp.json_body


def test_run_task_client_error_marks_failed_to_start(
    client: Any, headers: dict[str, str], api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    arns = {**api_env.task_definition_arns}
    arns["openai"] += ":99"  # a revision that does not exist
    monkeypatch.setenv("TASK_DEFINITION_ARNS", json.dumps(arns))
    body = create(client, headers)
    assert body["status"] == "FAILED_TO_START" and body["reason"].startswith("RunTask failed")
    run = get_run(client, headers, body["run_id"])
    assert run["status"] == "FAILED_TO_START" and run["failure_reason"]
    assert run["task_arn"] is None
    assert active(api_env) == 0  # the slot was released


def test_run_task_failures_list_marks_failed_to_start(
    client: Any, headers: dict[str, str], api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    ecs = aws.client("ecs")
    monkeypatch.setattr(
        ecs,
        "run_task",
        lambda **_: {"tasks": [], "failures": [{"reason": "RESOURCE:FARGATE", "detail": "none"}]},
    )
    body = create(client, headers)
    assert body["status"] == "FAILED_TO_START"
    assert "RESOURCE:FARGATE" in get_run(client, headers, body["run_id"])["failure_reason"]
    assert active(api_env) == 0


def test_record_is_written_before_run_task(
    client: Any, headers: dict[str, str], api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any] | None] = []
    ecs = aws.client("ecs")
    real = ecs.run_task

    def spy(**kwargs: Any) -> Any:
        seen.append(store.Store(api_env.table).get_run(kwargs["startedBy"]))
        return real(**kwargs)

    monkeypatch.setattr(ecs, "run_task", spy)
    run_id = create(client, headers)["run_id"]
    assert seen[0] is not None and seen[0]["status"] == "PENDING" and seen[0]["slot_held"]
    assert seen[0]["run_id"] == run_id


def test_events_in_order_record_exit_code_times_and_cost(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    run = create(client, headers)
    arn = get_run(client, headers, run["run_id"])["task_arn"]
    assert active(api_env) == 1
    assert emit(client, task_event(api_env, run["run_id"], arn, "PROVISIONING"))["applied"] is False
    assert emit(client, task_event(api_env, run["run_id"], arn, "RUNNING"))["applied"] is True
    assert get_run(client, headers, run["run_id"])["status"] == "RUNNING"
    out = emit(client, task_event(api_env, run["run_id"], arn, "STOPPED", exit_code=0))
    assert out == {
        "run_id": run["run_id"],
        "status": "STOPPED",
        "applied": True,
        "released_slot": True,
    }
    got = get_run(client, headers, run["run_id"])
    assert got["status"] == "STOPPED" and got["exit_code"] == 0
    assert got["started_at"] == "2025-01-01T10:00:10.000Z"
    assert got["stopped_at"] == "2025-01-01T10:10:10.000Z"
    assert got["duration_seconds"] == 610  # billed from the image pull
    assert got["estimated_cost_usd"] == pytest.approx(610 / 3600 * 1.08, abs=1e-4)
    assert got["stopped_reason"] == "Essential container in task exited"
    assert active(api_env) == 0


def test_repeated_stopped_events_release_the_slot_once(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    runs = [create(client, headers) for _ in range(2)]
    arns = [get_run(client, headers, r["run_id"])["task_arn"] for r in runs]
    assert active(api_env) == 2
    stopped = task_event(api_env, runs[0]["run_id"], arns[0], "STOPPED", exit_code=1)
    results = [emit(client, stopped) for _ in range(4)]
    assert [r["released_slot"] for r in results] == [True, False, False, False]
    assert active(api_env) == 1
    assert get_run(client, headers, runs[0]["run_id"])["exit_code"] == 1


def test_out_of_order_events_never_go_back(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    run = create(client, headers)
    arn = get_run(client, headers, run["run_id"])["task_arn"]
    emit(
        client,
        task_event(api_env, run["run_id"], arn, "STOPPED", exit_code=124, started_at=None),
    )
    emit(client, task_event(api_env, run["run_id"], arn, "RUNNING"))
    emit(client, task_event(api_env, run["run_id"], arn, "PENDING"))
    got = get_run(client, headers, run["run_id"])
    assert got["status"] == "STOPPED" and got["exit_code"] == 124
    # The late RUNNING event still contributed the start time the STOPPED one lacked.
    assert got["started_at"] == "2025-01-01T10:00:10.000Z"
    assert active(api_env) == 0


def test_stopped_event_before_run_task_returns(
    client: Any, headers: dict[str, str], api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ECS can deliver STOPPED before the API records the task ARN: STARTING must not win."""
    ecs = aws.client("ecs")
    real = ecs.run_task

    def racing(**kwargs: Any) -> Any:
        resp = real(**kwargs)
        arn = resp["tasks"][0]["taskArn"]
        emit(client, task_event(api_env, kwargs["startedBy"], arn, "STOPPED", exit_code=2))
        return resp

    monkeypatch.setattr(ecs, "run_task", racing)
    body = create(client, headers)
    assert body["status"] == "STOPPED"
    got = get_run(client, headers, body["run_id"])
    assert got["status"] == "STOPPED" and got["exit_code"] == 2 and got["task_arn"]
    assert active(api_env) == 0


def test_foreign_events_are_ignored(client: Any, headers: dict[str, str], api_env: Env) -> None:
    run = create(client, headers)
    arn = get_run(client, headers, run["run_id"])["task_arn"]
    other_cluster = task_event(api_env, run["run_id"], arn, "STOPPED")
    other_cluster["detail"]["clusterArn"] = "arn:aws:ecs:us-east-1:123456789012:cluster/other"
    assert "ignored" in emit(client, other_cluster)
    not_ours = task_event(api_env, "ecs-svc/123", arn, "STOPPED")
    assert "ignored" in emit(client, not_ours)
    wrong_task = task_event(api_env, run["run_id"], arn + "x", "STOPPED")
    assert "ignored" in emit(client, wrong_task)
    assert "ignored" in emit(client, {"detail-type": "Something else"})
    assert "ignored" in emit(client, {"detail-type": "ECS Task State Change", "detail": "x"})
    assert get_run(client, headers, run["run_id"])["status"] == "STARTING"


def test_reaper_stops_tasks_past_cap_plus_grace(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    from chalicelib.runs.deployment import current as service

    short = client.http.post(
        "/v1/runs",
        headers=headers,
        body=json.dumps({**VALID, "max_runtime_seconds": 60}).encode(),
    ).json_body
    long = create(client, headers)
    svc = service()
    # Within cap + grace: nothing happens.
    assert svc.reap(now=time.time() + 60)["stopped"] == []
    result = svc.reap(now=time.time() + 60 + 30 + 5)
    assert [s["run_id"] for s in result["stopped"]] == [short["run_id"]]
    got = get_run(client, headers, short["run_id"])
    # moto marks a stopped task STOPPED at once, so the same reaper pass reconciles it.
    assert got["status"] in ("STOPPING", "STOPPED")
    assert "exceeded max runtime 60s + grace 30s" in got["reaped_reason"]
    task = aws.client("ecs").describe_tasks(cluster=api_env.cluster_arn, tasks=[got["task_arn"]])
    assert task["tasks"][0]["desiredStatus"] == "STOPPED"
    assert "reaper" in task["tasks"][0]["stoppedReason"]
    assert get_run(client, headers, long["run_id"])["status"] == "STARTING"


def test_reaper_invoked_as_lambda(client: Any, api_env: Env) -> None:
    assert client.lambda_.invoke("reaper", {}).payload == {"stopped": [], "reconciled": []}


def test_reaper_fails_stale_pending_runs_and_releases_their_slot(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    from chalicelib.runs.deployment import current as service

    svc = service()
    rid = "run_01HZZZZZZZZZZZZZZZZZZZZZZZ"
    svc.store.create_run(
        {
            "run_id": rid,
            "kind": "run",
            "status": "PENDING",
            "status_rank": 0,
            "slot_held": True,
            "max_runtime_seconds": 60,
            "created_at": times.now_iso(),
        },
        5,
        None,
    )
    assert active(api_env) == 1
    assert svc.reap(now=time.time() + 10)["reconciled"] == []
    out = svc.reap(now=time.time() + 600)
    assert out["reconciled"] == [{"run_id": rid, "status": "FAILED_TO_START"}]
    assert get_run(client, headers, rid)["status"] == "FAILED_TO_START"
    assert active(api_env) == 0


def test_reaper_reconciles_a_lost_stopped_event(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    from chalicelib.runs.deployment import current as service

    run = create(client, headers)
    arn = get_run(client, headers, run["run_id"])["task_arn"]
    svc = service()
    stopped = {
        "clusterArn": api_env.cluster_arn,
        "taskArn": arn,
        "startedBy": run["run_id"],
        "lastStatus": "STOPPED",
        "stoppedAt": "2025-01-01T10:10:10Z",
        "containers": [{"name": "agent", "exitCode": 143}],
    }
    ecs = svc.ecs
    ecs.describe = lambda arns: [stopped]  # type: ignore[method-assign]
    ecs.running_tasks = lambda: iter([])  # type: ignore[method-assign]
    out = svc.reap()
    assert out["reconciled"] == [{"run_id": run["run_id"], "status": "STOPPED"}]
    assert get_run(client, headers, run["run_id"])["exit_code"] == 143
    assert active(api_env) == 0


def test_run_task_failed_reason_is_bounded() -> None:
    err = RunTaskFailed("x" * 10)
    assert err.reason == "x" * 10
