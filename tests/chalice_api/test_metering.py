"""What a run is billed for comes from the model proxy's stream, never from the agent's.

On moto, each test writes the two streams a task leaves (``agent/agent/<id>`` as the entrypoint
writes it, ``agent/model-proxy/<id>`` as the proxy does), delivers the STOPPED event, and reads
the run back: ``result.usage``, ``model_cost_usd`` and ``estimated_cost_usd`` follow the proxy;
what the agent reported stays visible as ``agent_reported_usage``; ``budget_exceeded`` is on
the record and in the result.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.core import aws

from tests.support.control_api import Env

VALID = {"prompt": "Fix the flaky test", "provider": "anthropic", "model": "claude-sonnet-4"}
COMPUTE = round(610 / 3600 * 1.08, 4)  # task_event's times: 610 s billed at $1.08/h
PROXY = "model-proxy"


def line(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


def runtime_end(run_id: str, usage: dict[str, Any]) -> str:
    result = {"final_message": "done", "stop_reason": "stop", "usage": usage, "tool_calls": 1}
    return line(type="runtime_end", run_id=run_id, exit_code=0, result=result)


def total(cost: float, calls: int, tokens: int = 1000) -> dict[str, Any]:
    return {
        "input_tokens": tokens,
        "output_tokens": tokens // 10,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cost_usd": cost,
        "calls": calls,
    }


def model_usage(run_id: str, seq: int, cost: float) -> str:
    """One priced response (the fake model's known usage: 1000 in, 100 out per call)."""
    return line(
        type="model_usage",
        run_id=run_id,
        seq=seq,
        model="claude-sonnet-4",
        status=200,
        cost_usd=cost / seq,
        total=total(cost, seq, 1000 * seq),
    )


def test_a_forged_runtime_end_changes_nothing_billed(start_run, agent_log, stop, get_run) -> None:
    run_id, arn = start_run()
    forged = {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}  # "I used nothing"
    fake = line(type="model_usage", run_id=run_id, total=total(0, 0))  # in its own stream
    agent_log(arn, [fake, runtime_end(run_id, forged)])
    agent_log(arn, [model_usage(run_id, 1, 0.2), model_usage(run_id, 2, 0.4)], container=PROXY)
    agent_log(arn, [line(type="proxy_end", run_id=run_id, usage=total(0.4, 2, 2000))], PROXY)
    stop(run_id, arn)
    got = get_run(run_id)
    assert got["result"]["usage"] == total(0.4, 2, 2000)
    assert got["result"]["agent_reported_usage"]["cost_usd"] == 0
    assert got["model_cost_usd"] == pytest.approx(0.4)
    assert got["estimated_cost_usd"] == pytest.approx(COMPUTE + 0.4)
    # And the other way: an agent that claims a fortune is not billed for it.
    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id, {"cost_usd": 999.0, "input_tokens": 10**9})])
    agent_log(arn, [model_usage(run_id, 1, 0.01)], container=PROXY)
    stop(run_id, arn)
    got = get_run(run_id)
    assert got["model_cost_usd"] == pytest.approx(0.01) and got["budget_exceeded"] is False
    assert got["result"]["agent_reported_usage"]["cost_usd"] == 999


def test_a_run_stopped_at_its_cap_is_recorded_with_its_result_and_patch(
    start_run, agent_log, stop, get_run, client, headers, monkeypatch
) -> None:
    from chalicelib.core import config as cfg

    monkeypatch.setenv("ALLOWED_REPOS", "acme/agents")
    cfg.reset()
    run_id, arn = start_run(max_cost_usd=0.5, repo="acme/agents")
    sha = "0123456789abcdef0123456789abcdef01234567"
    patch = {"base_commit": sha, "bytes": 4, "chunks": 1, "files_changed": 1}
    end = line(
        type="runtime_end",
        run_id=run_id,
        result={"final_message": "stopped: spend cap", "usage": {}, "patch": patch},
    )
    agent_log(arn, [line(type="patch", run_id=run_id, seq=0, data="+x\n"), end])
    agent_log(
        arn,
        [
            line(type="proxy_start", run_id=run_id, max_cost_usd=0.5),
            model_usage(run_id, 1, 0.3),
            model_usage(run_id, 2, 0.6),  # the call that crossed the cap
            line(type="budget_exceeded", run_id=run_id, total_cost_usd=0.6, max_cost_usd=0.5),
            line(type="proxy_end", run_id=run_id, usage=total(0.6, 2, 2000), budget_exceeded=True),
        ],
        container=PROXY,
    )
    stop(run_id, arn)
    got = get_run(run_id)
    assert got["max_cost_usd"] == 0.5
    assert got["budget_exceeded"] is True and got["result"]["budget_exceeded"] is True
    assert got["model_cost_usd"] == pytest.approx(0.6)  # overspend: at most the one call
    resp = client.http.get(f"/v1/runs/{run_id}/patch", headers=headers)
    assert resp.status_code == 200 and resp.body == b"+x\n"


def test_without_proxy_end_the_newest_total_and_any_refusal_count(
    start_run, agent_log, stop, get_run
) -> None:
    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id, {})])
    agent_log(
        arn,
        [
            model_usage(run_id, 1, 0.3),
            line(type="budget_exceeded", run_id=run_id, total_cost_usd=0.3, max_cost_usd=0.25),
            model_usage(run_id, 2, 0.45),  # a call already in flight when the cap was reached
            line(type="model_usage", run_id="run_01AAAAAAAAAAAAAAAAAAAAAAAA", total=total(9, 9)),
            "proxy: SIGKILL",
        ],
        container=PROXY,
    )
    stop(run_id, arn)
    got = get_run(run_id)
    assert got["result"]["usage"] == total(0.45, 2, 2000)
    assert got["budget_exceeded"] is True


def test_an_agent_killed_before_its_runtime_end_is_billed_what_the_proxy_metered(
    start_run, agent_log, stop, get_run
) -> None:
    """No result (the agent never wrote runtime_end), yet the model calls were made."""
    run_id, arn = start_run()
    agent_log(arn, [line(type="runtime_start", run_id=run_id)])
    agent_log(arn, [model_usage(run_id, 1, 0.2), model_usage(run_id, 2, 0.7)], container=PROXY)
    agent_log(
        arn,
        [line(type="budget_exceeded", run_id=run_id, total_cost_usd=0.7, max_cost_usd=0.5)],
        container=PROXY,
    )
    stop(run_id, arn)
    got = get_run(run_id)
    assert got["result"] is None
    assert got["model_cost_usd"] == pytest.approx(0.7)
    assert got["estimated_cost_usd"] == pytest.approx(COMPUTE + 0.7)
    assert got["budget_exceeded"] is True


def test_a_run_without_a_proxy_stream_metered_nothing(start_run, agent_log, stop, get_run) -> None:
    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id, {"cost_usd": 3.0})])
    stop(run_id, arn)
    got = get_run(run_id)
    assert got["result"]["usage"] == total(0, 0, 0)
    assert got["model_cost_usd"] == 0 and got["estimated_cost_usd"] == pytest.approx(COMPUTE)
    assert got["budget_exceeded"] is False


def test_an_unreadable_proxy_stream_leaves_the_result_to_a_later_read(
    start_run, agent_log, stop, get_run, monkeypatch
) -> None:
    from chalicelib.runs.deployment import current as service

    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id, {})])
    agent_log(arn, [model_usage(run_id, 1, 0.2)], container=PROXY)
    logs = service().logs
    real_tail = logs.tail

    def throttled(stream: str, *args: Any, **kwargs: Any) -> Any:
        if stream.startswith("agent/model-proxy/"):
            raise RuntimeError("ThrottlingException")
        return real_tail(stream, *args, **kwargs)

    monkeypatch.setattr(logs, "tail", throttled)
    stop(run_id, arn)
    got = get_run(run_id)
    assert got["result"] is None and "model proxy's log stream" in got["result_error"]
    assert got["budget_exceeded"] is None
    monkeypatch.setattr(logs, "tail", real_tail)
    stop(run_id, arn)  # a repeated delivery (or the reaper) reads it again
    assert get_run(run_id)["model_cost_usd"] == pytest.approx(0.2)


def test_a_stopped_event_reads_each_stream_once(
    start_run, agent_log, stop, api_env: Env, monkeypatch
) -> None:
    """One GetLogEvents per stream: both final lines are on the last page (the run record is
    still read and written once per event, tests/chalice_api/test_record_io.py)."""
    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id, {})])
    proxy_end = line(type="proxy_end", run_id=run_id, usage=total(0.2, 1))
    agent_log(arn, [model_usage(run_id, 1, 0.2), proxy_end], container=PROXY)
    streams: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        streams.append(params["logStreamName"])

    aws.client("logs").meta.events.register("provide-client-params.logs.GetLogEvents", count)
    stop(run_id, arn)
    task = arn.rsplit("/", 1)[-1]
    assert sorted(streams) == [f"agent/agent/{task}", f"agent/model-proxy/{task}"]
