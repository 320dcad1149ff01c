"""The burst drills: the concurrency cap and idempotent creates under parallel requests.

`run` (burst): N parallel `POST /v1/runs` (`run: sleep 60`) with the cap at C must give exactly
C runs (202) and N-C answers 429 - no connection errors, no other answer; after one pass of
the reaper no record is left without a task, and the active-run counter equals the runs that
hold a slot. The accepted runs are then stopped and the counter must come back to 0: a slot
taken and never returned would shrink the cap for good.

`run_idempotency`: one `Idempotency-Key` (and one body) sent K times at once must make one
run: every answer is that run's id (202, or the replay) or 409 "in progress" (the request
that holds the key has not finished), and the table holds one record for it.

Both start by stopping whatever holds a slot, so the cap they measure is the whole cap.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devtools.drill.context import DrillContext, DrillReport, Response, percentile

LONG_N, SHORT_N = 40, 12
LONG_KEYS, SHORT_KEYS = 20, 10
SLEEP_PROMPT = "run: sleep 60"
STOP_TIMEOUT = 60.0


def fire(count: int, call: Callable[[], Response]) -> list[Response]:
    """`call` from `count` threads released together (a barrier), so the requests overlap."""
    barrier = threading.Barrier(count)

    def one() -> Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: one(), range(count)))


def judge_burst(responses: list[Response], cap: int) -> tuple[dict[str, Any], list[str]]:
    """Figures and problems of a burst's answers: exactly `cap` 202s, the rest 429."""
    n = len(responses)
    accepted = [r for r in responses if r.status == 202]
    refused = [r for r in responses if r.status == 429]
    errors = [r for r in responses if r.status == 0]
    other = [r for r in responses if r.status not in (0, 202, 429)]
    latencies = [r.seconds * 1000 for r in responses if r.status]
    figures: dict[str, Any] = {
        "n": n,
        "cap": cap,
        "accepted": len(accepted),
        "refused": len(refused),
        "errors": len(errors),
        "p50_ms": round(percentile(latencies, 50)),
        "p95_ms": round(percentile(latencies, 95)),
    }
    problems = []
    expected = min(cap, n)
    if len(accepted) != expected:
        problems.append(f"{len(accepted)} of {n} creates were accepted with the cap at {cap}")
    if len(refused) != n - expected:
        problems.append(f"{len(refused)} creates were answered 429, not {n - expected}")
    if errors:
        problems.append(f"{len(errors)} requests got no answer (first: {errors[0].error})")
    if other:
        seen = sorted({r.status for r in other})
        problems.append(
            f"{len(other)} answers were neither 202 nor 429: {seen} ({other[0].message})"
        )
    failed = [r.run_id for r in accepted if (r.body or {}).get("status") == "FAILED_TO_START"]
    if failed:
        problems.append(f"{len(failed)} accepted runs failed to start (first {failed[0]})")
    if len({r.run_id for r in accepted}) != len(accepted):
        problems.append("two accepted creates answered the same run id")
    return figures, problems


def judge_idempotency(responses: list[Response]) -> tuple[dict[str, Any], list[str]]:
    """Figures and problems of one key sent many times: one run id, or 409 "in progress"."""
    ids = {r.run_id for r in responses if r.status in (200, 202)}
    answered = [r for r in responses if r.status in (200, 202)]
    in_progress = [r for r in responses if r.status == 409 and "in progress" in r.message]
    other = [r for r in responses if r not in answered and r not in in_progress]
    latencies = [r.seconds * 1000 for r in responses if r.status]
    figures: dict[str, Any] = {
        "sent": len(responses),
        "same_id": len(answered),
        "in_progress": len(in_progress),
        "other": len(other),
        "p50_ms": round(percentile(latencies, 50)),
        "p95_ms": round(percentile(latencies, 95)),
    }
    problems = []
    if not answered:
        problems.append("no request with the key was answered with a run")
    if len(ids) > 1 or None in ids:
        problems.append(
            f"the same key answered {len(ids)} different run ids: {sorted(map(str, ids))}"
        )
    if other:
        first = other[0]
        problems.append(
            f"{len(other)} answers were neither the run nor 409 in progress "
            f"(first: {first.status} {first.message})"
        )
    return figures, problems


def run(ctx: DrillContext, *, short: bool) -> DrillReport:
    """N parallel creates against the cap, the reaper's pass, then every slot returned."""
    began = time.monotonic()
    problems = ctx.stop_active(STOP_TIMEOUT)
    cap, n = ctx.max_concurrent_runs, SHORT_N if short else LONG_N
    responses = fire(n, lambda: ctx.create_run(SLEEP_PROMPT))
    figures, found = judge_burst(responses, cap)
    problems += found

    ctx.invoke_reaper()
    orphans = ctx.records_without_task()
    figures["without_task"] = len(orphans)
    if orphans:
        problems.append(
            f"{len(orphans)} record(s) hold no task after the reaper's pass "
            f"(first {orphans[0].get('run_id')} {orphans[0].get('status')})"
        )
    figures["counter_at_cap"] = ctx.counter()
    problems += ctx.slot_problems()

    accepted = [r.run_id for r in responses if r.status == 202 and r.run_id]
    for run_id in accepted:
        stop = ctx.stop_run(run_id)
        if stop.status not in (200, 202):
            problems.append(f"stopping {run_id} answered {stop.status} {stop.message}")
    records = ctx.wait_terminal(accepted, STOP_TIMEOUT)
    stuck = [rid for rid, rec in records.items() if not rec or rec.get("status") != "STOPPED"]
    if stuck:
        problems.append(f"{len(stuck)} stopped run(s) did not reach STOPPED (first {stuck[0]})")
    problems += ctx.slot_problems(expect_zero=True)
    return DrillReport.of("burst", figures, problems, time.monotonic() - began)


def run_idempotency(ctx: DrillContext, *, short: bool) -> DrillReport:
    """One Idempotency-Key sent K times at once: one run, one record, its slot returned."""
    began = time.monotonic()
    problems = ctx.stop_active(STOP_TIMEOUT)
    key = f"drill-{uuid.uuid4()}"
    prompt = f"run: true # idempotency drill {key}"
    count = SHORT_KEYS if short else LONG_KEYS
    responses = fire(count, lambda: ctx.create_run(prompt, key))
    figures, found = judge_idempotency(responses)
    problems += found

    records = [r for r in ctx.run_records() if r.get("prompt") == prompt]
    figures["runs"] = len(records)
    if len(records) != 1:
        problems.append(f"the key made {len(records)} run records, not 1")
    final = ctx.wait_terminal([str(r["run_id"]) for r in records], STOP_TIMEOUT)
    unfinished = [rid for rid, rec in final.items() if not rec or rec.get("status") != "STOPPED"]
    if unfinished:
        problems.append(f"the run {unfinished[0]} did not reach STOPPED")
    problems += ctx.slot_problems(expect_zero=True)
    return DrillReport.of("idempotency", figures, problems, time.monotonic() - began)
