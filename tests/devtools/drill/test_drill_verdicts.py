"""The burst, idempotency and soak verdicts from made-up answers."""

from __future__ import annotations

import threading

from devtools.drill import burst, soak
from devtools.drill.context import Response


def created(run_id: str, status: int = 202, seconds: float = 0.1) -> Response:
    return Response(status, {"run_id": run_id, "status": "STARTING"}, "", {}, seconds)


def refused(seconds: float = 0.05) -> Response:
    body = {"error": {"code": "concurrency_limit", "message": "concurrency limit reached"}}
    return Response(429, body, "", {}, seconds)


def test_a_burst_that_held_the_cap_passes() -> None:
    answers = [created(f"run_{i}") for i in range(5)] + [refused() for _ in range(35)]
    figures, problems = burst.judge_burst(answers, cap=5)
    assert problems == []
    assert figures["accepted"] == 5 and figures["refused"] == 35 and figures["errors"] == 0
    assert figures["p50_ms"] == 50 and figures["p95_ms"] == 100


def test_one_run_over_the_cap_and_a_reset_are_problems() -> None:
    answers = [created(f"run_{i}") for i in range(6)] + [refused() for _ in range(33)]
    answers.append(Response(0, error="ConnectionResetError(104)"))
    figures, problems = burst.judge_burst(answers, cap=5)
    assert figures["accepted"] == 6 and figures["errors"] == 1
    assert any("6 of 40 creates were accepted" in p for p in problems)
    assert any("33 creates were answered 429, not 35" in p for p in problems)
    assert any("got no answer" in p and "ConnectionReset" in p for p in problems)


def test_a_500_and_a_failed_start_are_problems() -> None:
    failed = Response(202, {"run_id": "run_x", "status": "FAILED_TO_START"})
    answers = [failed, created("run_y"), Response(500, {"error": {"message": "boom"}})]
    _, problems = burst.judge_burst(answers, cap=2)
    assert any("neither 202 nor 429: [500] (boom)" in p for p in problems)
    assert any("failed to start" in p for p in problems)


def test_one_key_one_run_id_or_in_progress_passes() -> None:
    conflict = Response(409, {"error": {"message": "a request with this key is in progress"}})
    answers = [created("run_a"), created("run_a", 202)] + [conflict] * 8
    figures, problems = burst.judge_idempotency(answers)
    assert problems == []
    assert figures == {
        "sent": 10,
        "same_id": 2,
        "in_progress": 8,
        "other": 0,
        "p50_ms": 0,
        "p95_ms": 100,
    }


def test_two_run_ids_for_one_key_or_another_conflict_fail() -> None:
    other = Response(409, {"error": {"message": "already used with a different request"}})
    _, problems = burst.judge_idempotency([created("run_a"), created("run_b"), other])
    assert any("2 different run ids" in p for p in problems)
    assert any("neither the run nor 409 in progress" in p for p in problems)
    _, none = burst.judge_idempotency([Response(0, error="reset")])
    assert any("no request" in p for p in none)


def test_fire_overlaps_its_calls() -> None:
    inside, most = 0, 0
    lock = threading.Lock()

    def call() -> Response:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        threading.Event().wait(0.05)
        with lock:
            inside -= 1
        return Response(202)

    assert len(burst.fire(8, call)) == 8
    assert most > 1


def test_soak_memory_is_judged_in_the_long_form_only() -> None:
    assert soak.judge_memory(100_000, 130_000, assert_it=False) == []
    assert soak.judge_memory(100_000, 119_000, assert_it=True) == []
    grew = soak.judge_memory(100_000, 130_000, assert_it=True)
    assert grew and "+30%" in grew[0]
    assert soak.judge_memory(0, 100, assert_it=True) == [
        "the API server's memory (VmRSS) could not be read"
    ]


def test_a_soak_run_counts_when_stopped_with_its_result() -> None:
    assert soak.run_problem("r", {"status": "STOPPED", "result": {"final_message": "x"}}) is None
    assert "no record" in soak.run_problem("r", None)
    assert "without a result (log not read)" in soak.run_problem(
        "r", {"status": "STOPPED", "result_error": "log not read"}
    )
    assert soak.run_problem("r", {"status": "FAILED_TO_START", "failure_reason": "quota"}) == (
        "run r ended FAILED_TO_START quota"
    )
