"""Fargate capacity: Spot first, on-demand once when Spot has none, quota refusals as 429.

moto runs every ECS call for real except the refusals it cannot produce: ``injected`` wraps the
app's own ECS client so that RunTask answers, for the capacity provider a test names, the way
ECS does when it has no capacity or the vCPU quota is reached (a ``failures`` entry, or an
error); every other RunTask - and DescribeTasks, StopTask, the table - is moto. Tasks that stop
before they run are ECS events, as EventBridge delivers them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalicelib.core import aws
from chalicelib.core import config as cfg
from chalicelib.persistence import store

from tests.support.control_api import EXEC_ROLE_ARN, Env, task_event
from tests.support.runs import active, emit, get_run

VALID = {"prompt": "Write a haiku", "provider": "openai", "model": "gpt-5"}
NO_CAPACITY = (
    "Capacity is unavailable at this time. Please try again later or in a different "
    "availability zone"
)
NO_QUOTA = "You\u2019ve reached the limit on the number of vCPUs you can run concurrently"


def failure(reason: str) -> dict[str, Any]:
    """RunTask's answer when ECS places nothing: no task, one failure."""
    return {
        "tasks": [],
        "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:task", "reason": reason}],
    }


class Injected:
    """Refusals queued per capacity provider; each RunTask call is recorded."""

    def __init__(self) -> None:
        self.queued: dict[str, list[Any]] = {"FARGATE": [], "FARGATE_SPOT": []}
        self.calls: list[dict[str, Any]] = []
        self.records_at_call: list[dict[str, Any] | None] = []

    def refuse(self, provider: str, *answers: Any) -> None:
        self.queued[provider].extend(answers)

    @property
    def providers(self) -> list[str]:
        return [c["capacityProviderStrategy"][0]["capacityProvider"] for c in self.calls]


@pytest.fixture
def injected(api_env: Env, monkeypatch: pytest.MonkeyPatch) -> Injected:
    ecs = aws.client("ecs")
    real = ecs.run_task
    state = Injected()

    def run_task(**kwargs: Any) -> Any:
        state.calls.append(kwargs)
        state.records_at_call.append(store.Store(api_env.table).get_run(kwargs["startedBy"]))
        queue = state.queued[kwargs["capacityProviderStrategy"][0]["capacityProvider"]]
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return real(**kwargs)

    monkeypatch.setattr(ecs, "run_task", run_task)
    return state


@pytest.fixture
def capacity(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def set_capacity(mode: str) -> None:
        monkeypatch.setenv("CAPACITY", mode)
        cfg.reset()

    return set_capacity


def create(client: Any, headers: dict[str, str]) -> Any:
    return client.http.post("/v1/runs", headers=headers, body=json.dumps(VALID).encode())


def moto_task(api_env: Env, arn: str) -> dict[str, Any]:
    return aws.client("ecs").describe_tasks(cluster=api_env.cluster_arn, tasks=[arn])["tasks"][0]


def test_on_demand_default_runs_on_fargate_priced_on_demand(
    client: Any, headers: dict[str, str], api_env: Env, injected: Injected
) -> None:
    run_id = create(client, headers).json_body["run_id"]
    run = get_run(client, headers, run_id)
    assert injected.providers == ["FARGATE"]
    assert run["capacity_used"] == "on-demand" and run["fallback_reason"] is None
    assert run["interrupted"] is None  # known once the task stopped
    emit(client, task_event(api_env, run_id, run["task_arn"], "STOPPED", exit_code=0))
    stopped = get_run(client, headers, run_id)
    assert stopped["interrupted"] is False
    assert stopped["compute_cost_usd"] == pytest.approx(610 / 3600 * 1.08, abs=1e-4)


def test_spot_runs_on_fargate_spot_priced_spot(
    client: Any, headers: dict[str, str], api_env: Env, injected: Injected, capacity: Callable
) -> None:
    capacity("spot")
    run_id = create(client, headers).json_body["run_id"]
    run = get_run(client, headers, run_id)
    assert injected.providers == ["FARGATE_SPOT"]
    assert moto_task(api_env, run["task_arn"])["capacityProviderName"] == "FARGATE_SPOT"
    assert run["capacity_used"] == "spot"
    emit(client, task_event(api_env, run_id, run["task_arn"], "STOPPED", exit_code=0))
    assert get_run(client, headers, run_id)["compute_cost_usd"] == pytest.approx(
        610 / 3600 * 0.43, abs=1e-4
    )


@pytest.mark.parametrize("refusal", [NO_CAPACITY, NO_QUOTA], ids=["capacity", "spot-quota"])
def test_spot_refused_falls_back_to_on_demand_once_recorded_and_counted_once(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    injected: Injected,
    capacity: Callable,
    refusal: str,
) -> None:
    capacity("spot-then-on-demand")
    injected.refuse("FARGATE_SPOT", failure(refusal))
    resp = create(client, headers)
    assert resp.status_code == 202 and resp.json_body["status"] == "STARTING"
    run_id = resp.json_body["run_id"]
    assert injected.providers == ["FARGATE_SPOT", "FARGATE"]
    # The second start has its own token (ECS would answer the first with the first task)...
    assert [c["clientToken"] for c in injected.calls] == [run_id, f"{run_id}-on-demand"]
    assert injected.calls[0]["overrides"] == injected.calls[1]["overrides"]
    # ...and the run says so before it is made.
    assert injected.records_at_call[1]["capacity_used"] == "on-demand"
    run = get_run(client, headers, run_id)
    assert run["capacity_used"] == "on-demand" and refusal in run["fallback_reason"]
    assert moto_task(api_env, run["task_arn"])["capacityProviderName"] == "FARGATE"
    assert active(api_env) == 1
    emit(client, task_event(api_env, run_id, run["task_arn"], "STOPPED", exit_code=0))
    assert get_run(client, headers, run_id)["compute_cost_usd"] == pytest.approx(
        610 / 3600 * 1.08, abs=1e-4
    )
    assert active(api_env) == 0


def test_on_demand_refused_too_fails_the_run_with_its_reason(
    client: Any, headers: dict[str, str], api_env: Env, injected: Injected, capacity: Callable
) -> None:
    capacity("spot-then-on-demand")
    injected.refuse("FARGATE_SPOT", failure(NO_CAPACITY))
    injected.refuse("FARGATE", failure(NO_CAPACITY))
    body = create(client, headers).json_body
    assert body["status"] == "FAILED_TO_START" and NO_CAPACITY in body["reason"]
    assert injected.providers == ["FARGATE_SPOT", "FARGATE"]  # once, not again
    run = get_run(client, headers, body["run_id"])
    assert run["status"] == "FAILED_TO_START" and run["task_arn"] is None
    assert NO_CAPACITY in run["failure_reason"] and run["fallback_reason"]
    assert active(api_env) == 0


def test_spot_alone_never_falls_back(
    client: Any, headers: dict[str, str], api_env: Env, injected: Injected, capacity: Callable
) -> None:
    capacity("spot")
    injected.refuse("FARGATE_SPOT", failure(NO_CAPACITY))
    body = create(client, headers).json_body
    assert body["status"] == "FAILED_TO_START" and injected.providers == ["FARGATE_SPOT"]
    assert get_run(client, headers, body["run_id"])["fallback_reason"] is None
    assert active(api_env) == 0


@pytest.mark.parametrize(
    "refusal",
    [
        failure(NO_QUOTA),
        ClientError(
            {"Error": {"Code": "InvalidParameterException", "Message": NO_QUOTA}}, "RunTask"
        ),
    ],
    ids=["failures", "error"],
)
def test_quota_refusal_is_429_with_a_failed_recorded_run_and_no_slot(
    client: Any, headers: dict[str, str], api_env: Env, injected: Injected, refusal: Any
) -> None:
    injected.refuse("FARGATE", refusal)
    resp = create(client, headers)
    assert resp.status_code == 429, resp.body
    error = resp.json_body["error"]
    assert error["code"] == "fargate_vcpu_quota" and '"action": "preflight"' in error["message"]
    [run] = client.http.get("/v1/runs", headers=headers).json_body["runs"]
    assert run["run_id"] in error["message"]
    assert run["status"] == "FAILED_TO_START" and run["failure_reason"]
    assert active(api_env) == 0


def stopped_before_running(
    api_env: Env, run_id: str, arn: str, stop_code: str, reason: str
) -> dict[str, Any]:
    """A task that never ran: no start times, no exit code."""
    return task_event(
        api_env,
        run_id,
        arn,
        "STOPPED",
        stop_code=stop_code,
        stopped_reason=reason,
        started_at=None,
        pull_started_at=None,
    )


@pytest.mark.parametrize(
    ("stop_code", "reason"),
    [
        ("SpotInterruption", "Your Spot Task was interrupted."),
        ("TaskFailedToStart", NO_CAPACITY),
    ],
)
def test_spot_task_stopped_before_running_restarts_once_on_on_demand(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    injected: Injected,
    capacity: Callable,
    stop_code: str,
    reason: str,
) -> None:
    capacity("spot-then-on-demand")
    run_id = create(client, headers).json_body["run_id"]
    spot_arn = get_run(client, headers, run_id)["task_arn"]
    event = stopped_before_running(api_env, run_id, spot_arn, stop_code, reason)
    out = emit(client, event)
    assert out["restarted"] == "on-demand"
    run = get_run(client, headers, run_id)
    assert run["status"] == "STARTING" and run["task_arn"] == out["task_arn"] != spot_arn
    assert run["capacity_used"] == "on-demand" and reason in run["fallback_reason"]
    assert injected.providers == ["FARGATE_SPOT", "FARGATE"]
    assert injected.calls[1]["clientToken"] == f"{run_id}-on-demand"
    assert injected.calls[1]["overrides"] == injected.calls[0]["overrides"]
    assert moto_task(api_env, run["task_arn"])["capacityProviderName"] == "FARGATE"
    assert active(api_env) == 1  # the same slot
    # A redelivered event of the Spot task changes nothing and starts nothing.
    assert emit(client, event)["ignored"] == "task does not belong to this run"
    # Once: the on-demand task stopping before it ran ends the run.
    emit(client, stopped_before_running(api_env, run_id, run["task_arn"], stop_code, reason))
    assert len(injected.calls) == 2
    assert get_run(client, headers, run_id)["status"] == "STOPPED"
    assert active(api_env) == 0


def test_a_sessions_restart_runs_as_the_exec_role_and_a_runs_as_none(
    client: Any, headers: dict[str, str], api_env: Env, injected: Injected, capacity: Callable
) -> None:
    """The restart rebuilds the overrides from ECS's record of the stopped task; the task role
    is decided again by the run's kind, never carried over (or lost)."""
    capacity("spot-then-on-demand")
    session_id = client.http.post("/v1/sessions", headers=headers, body=b"{}").json_body["run_id"]
    run_id = create(client, headers).json_body["run_id"]
    for started in (session_id, run_id):
        arn = get_run(client, headers, started)["task_arn"]
        event = stopped_before_running(api_env, started, arn, "TaskFailedToStart", NO_CAPACITY)
        assert emit(client, event)["restarted"] == "on-demand"
    session_calls = [c for c in injected.calls if c["startedBy"] == session_id]
    run_calls = [c for c in injected.calls if c["startedBy"] == run_id]
    assert [c["overrides"].get("taskRoleArn") for c in session_calls] == [EXEC_ROLE_ARN] * 2
    assert [c["enableExecuteCommand"] for c in session_calls] == [True, True]
    assert [c["overrides"].get("taskRoleArn") for c in run_calls] == [None, None]


def test_task_that_ran_is_never_restarted(
    client: Any, headers: dict[str, str], api_env: Env, injected: Injected, capacity: Callable
) -> None:
    capacity("spot-then-on-demand")
    run_id = create(client, headers).json_body["run_id"]
    arn = get_run(client, headers, run_id)["task_arn"]
    emit(client, task_event(api_env, run_id, arn, "RUNNING"))
    emit(
        client,
        task_event(
            api_env,
            run_id,
            arn,
            "STOPPED",
            exit_code=143,
            stop_code="SpotInterruption",
            stopped_reason="Your Spot Task was interrupted.",
        ),
    )
    run = get_run(client, headers, run_id)
    assert run["status"] == "STOPPED" and run["exit_code"] == 143
    assert run["interrupted"] is True and run["capacity_used"] == "spot"
    assert injected.providers == ["FARGATE_SPOT"]
    assert active(api_env) == 0


def test_bad_capacity_is_a_configuration_error_naming_it(client: Any, capacity: Callable) -> None:
    capacity("spot-first")
    resp = client.http.get("/v1/health")
    assert resp.status_code == 500
    assert resp.json_body["error"]["code"] == "configuration_error"
    assert "CAPACITY" in resp.json_body["error"]["message"]


@pytest.mark.parametrize("raw", ["1.08x", '{"spot": 0.4}', '{"on-demand": -1}', "[1]"])
def test_bad_hourly_costs_are_a_configuration_error_naming_them(
    client: Any, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("TASK_HOURLY_COST_USD", raw)
    cfg.reset()
    resp = client.http.get("/v1/health")
    assert resp.status_code == 500 and "TASK_HOURLY_COST_USD" in resp.json_body["error"]["message"]


def test_capacity_modes_are_the_settings() -> None:
    from stacks.shared.setting_loader import specs

    [spec] = [s for s in specs() if s.name == "capacity"]
    assert spec.lambda_env == "CAPACITY"
    assert all(spec.check(mode) for mode in cfg.CAPACITY_MODES)
    assert spec.accepted == "on-demand, spot or spot-then-on-demand"
    assert not spec.check("spot-first")


def test_a_fall_back_cut_short_is_finished_by_the_next_delivery(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    injected: Injected,
    capacity: Callable,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handler dies after recording the fall back and starting the task but before
    recording the task: EventBridge delivers again, and the same clientToken (ECS answers it
    with the task it already started) finishes the record."""
    capacity("spot-then-on-demand")
    run_id = create(client, headers).json_body["run_id"]
    spot_arn = get_run(client, headers, run_id)["task_arn"]
    real = store.Store.set_fields_if
    cut = {"left": 1}

    def set_fields_if(self: Any, rid: str, fields: dict[str, Any], *args: Any) -> bool:
        if "task_arn" in fields and cut["left"]:
            cut["left"] -= 1
            raise RuntimeError("Lambda timed out")
        return real(self, rid, fields, *args)

    monkeypatch.setattr(store.Store, "set_fields_if", set_fields_if)
    event = stopped_before_running(api_env, run_id, spot_arn, "SpotInterruption", "interrupted")
    with pytest.raises(Exception, match="Lambda timed out"):
        emit(client, event)
    half = get_run(client, headers, run_id)
    assert half["task_arn"] == spot_arn and half["capacity_used"] == "on-demand"
    out = emit(client, event)
    assert out["restarted"] == "on-demand"
    tokens = [c["clientToken"] for c in injected.calls]
    assert tokens == [run_id, f"{run_id}-on-demand", f"{run_id}-on-demand"]
    assert get_run(client, headers, run_id)["task_arn"] == out["task_arn"] != spot_arn
    assert active(api_env) == 1
