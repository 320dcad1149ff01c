"""The shared reads and the report: what a drill calls lost, and how it says so."""

from __future__ import annotations

import socket

import pytest

from devtools.drill.context import DrillReport, Response, _cached, percentile, plain


def test_percentile_interpolates_and_is_zero_without_values() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(range(1, 101), 95) == pytest.approx(95.05)
    assert percentile([5, 1, 3], 0) == 1 and percentile([5, 1, 3], 100) == 5


def test_plain_turns_dynamodb_values_into_python() -> None:
    item = {
        "run_id": {"S": "run_1"},
        "active": {"N": "3"},
        "cost": {"N": "0.5"},
        "slot_held": {"BOOL": True},
        "result": {"M": {"usage": {"M": {"input_tokens": {"N": "10"}}}}},
    }
    assert plain(item) == {
        "run_id": "run_1",
        "active": 3,
        "cost": 0.5,
        "slot_held": True,
        "result": {"usage": {"input_tokens": 10}},
    }


def test_report_verdict_follows_its_problems_and_fits_one_line() -> None:
    good = DrillReport.of("burst", {"accepted": 5, "p50_ms": 12.345}, [], 3.21)
    assert good.passed
    assert good.line() == "burst        PASS  accepted=5 p50_ms=12.3  (3.2s)"
    bad = DrillReport.of("soak", {}, [f"problem {i}" for i in range(7)])
    assert not bad.passed
    line = bad.line()
    assert "FAIL" in line and "problem 4" in line and "problem 5" not in line
    assert line.endswith("(+2 more)") and "\n" not in line


def test_response_message_prefers_the_api_error() -> None:
    answer = Response(409, {"error": {"code": "conflict", "message": "in progress"}}, "x")
    assert answer.message == "in progress"
    assert Response(0, error="ConnectionResetError()").message == "ConnectionResetError()"
    assert Response(202, {"run_id": "run_1"}).run_id == "run_1"
    assert Response(500, None, "oops").run_id is None


def test_token_is_minted_once_while_fresh() -> None:
    minted = []
    token = _cached(lambda: minted.append(1) or f"t{len(minted)}")
    assert token() == token() == "t1"
    assert len(minted) == 1


def test_a_refused_connection_is_an_answer_with_status_zero(fake_context) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens
    ctx = fake_context()
    ctx.api_url = f"http://127.0.0.1:{port}"
    answer = ctx.create_run("run: true")
    assert answer.status == 0 and answer.error


def test_active_runs_and_records_without_a_task(fake_context) -> None:
    records = [
        {"run_id": "a", "status": "RUNNING", "slot_held": True, "task_arn": "t"},
        {"run_id": "b", "status": "PENDING", "slot_held": True},
        {"run_id": "c", "status": "STARTING", "slot_held": True, "task_arn": "t"},
        {"run_id": "d", "status": "STOPPED", "slot_held": False, "task_arn": "t"},
        {"run_id": "e", "status": "FAILED_TO_START", "slot_held": False},
        {"run_id": "f", "status": "STOPPING", "slot_held": False, "task_arn": "t"},
    ]
    ctx = fake_context(records, counter=3)
    assert [r["run_id"] for r in ctx.active_runs()] == ["a", "b", "c"]
    assert [r["run_id"] for r in ctx.records_without_task()] == ["b"]
    assert ctx.slot_problems() == []
    assert ctx.slot_problems(expect_zero=True) == ["the counter is 3 at the end, not 0"]
    ctx.count = 4
    assert ctx.slot_problems() == ["the counter says 4 but 3 run(s) hold a slot"]


def test_wait_terminal_waits_for_the_result_when_asked(fake_context) -> None:
    records = [
        {"run_id": "a", "status": "STOPPED"},
        {"run_id": "b", "status": "FAILED_TO_START"},
    ]
    ctx = fake_context(records)
    done = ctx.wait_terminal(["a", "b"], timeout=5)
    assert {k: v["status"] for k, v in done.items()} == {"a": "STOPPED", "b": "FAILED_TO_START"}
    late = ctx.wait_terminal(["a"], timeout=0.3, with_result=True, poll=0.05)
    assert "result" not in late["a"]  # gave up: STOPPED without a result yet
    records[0]["result"] = {"final_message": "ok"}
    assert ctx.wait_terminal(["a"], timeout=5, with_result=True)["a"]["result"]


def test_function_names_follow_the_api_function(fake_context) -> None:
    assert fake_context().function_name("reaper") == "cloudagent-local-reaper"
