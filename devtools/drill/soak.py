"""The soak drill: many short runs back to back, then nothing held and no memory creeping up.

M runs of `run: true` (the fake model runs `true`), one after the other, each followed to
STOPPED with its result. At the end the active-run counter must be exactly 0 - one slot leaked
per thousand runs is a cap that quietly shrinks in production - and the API server's resident
memory must be within 20% of what it was after the first 20 runs (a leak per request shows
over 200 runs; over the short form's 20 the figure is reported, not judged).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devtools.drill.context import DrillContext, DrillReport, percentile

# The short form is a smoke test of the path (the suite's budget: a run takes ~4-5 s end to
# end on make up, and more lanes do not raise the throughput of a 2-core machine); the long
# form is the soak.
LONG_M, SHORT_M = 200, 3
BASELINE_RUNS = 20
RSS_TOLERANCE = 0.20
PROMPT = "run: true"
RUN_TIMEOUT = 60.0
# Runs in flight at once, each lane back to back (never more than the cap). One lane: with 5
# lanes on 2 cores the throughput stayed ~13 runs/min and each run took 4x as long, so more
# lanes only blur the run wall time it reports.
SHORT_LANES, LONG_LANES = 1, 1


def judge_memory(base_kib: int, end_kib: int, *, assert_it: bool) -> list[str]:
    """A problem when the end is more than RSS_TOLERANCE above the baseline (long form only)."""
    if not assert_it:
        return []
    if not base_kib or not end_kib:
        return ["the API server's memory (VmRSS) could not be read"]
    if end_kib > base_kib * (1 + RSS_TOLERANCE):
        return [
            f"the API server grew from {base_kib} KiB to {end_kib} KiB "
            f"(+{100 * (end_kib - base_kib) / base_kib:.0f}%, more than "
            f"{RSS_TOLERANCE:.0%})"
        ]
    return []


def run_problem(run_id: str | None, record: dict[str, Any] | None) -> str | None:
    """Why one soak run does not count as done (STOPPED with its result), or None."""
    if record is None:
        return f"run {run_id} has no record"
    if record.get("status") != "STOPPED":
        reason = record.get("failure_reason") or ""
        return f"run {run_id} ended {record.get('status')} {reason}".rstrip()
    if not record.get("result"):
        return f"run {run_id} STOPPED without a result ({record.get('result_error')})"
    return None


def run(ctx: DrillContext, *, short: bool) -> DrillReport:
    """M short runs back to back in `lanes` lanes; all STOPPED with results, counter 0, memory
    steady."""
    began = time.monotonic()
    problems = ctx.stop_active(RUN_TIMEOUT)
    count = SHORT_M if short else LONG_M
    lanes = max(1, min(ctx.max_concurrent_runs, SHORT_LANES if short else LONG_LANES))
    baseline_at = min(BASELINE_RUNS, count // 2)
    lock = threading.Lock()
    walls: list[float] = []
    done = {"next": 0, "finished": 0, "stopped": 0, "base_kib": 0}

    def lane() -> None:
        while True:
            with lock:
                index = done["next"]
                if index >= count:
                    return
                done["next"] += 1
            problem, wall = one_run(ctx, index)
            with lock:
                if problem:
                    problems.append(problem)
                else:
                    done["stopped"] += 1
                if wall is not None:
                    walls.append(wall)
                done["finished"] += 1
                if done["finished"] == baseline_at:
                    done["base_kib"] = ctx.server_rss_kib()

    soak_began = time.monotonic()
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        for future in [pool.submit(lane) for _ in range(lanes)]:
            future.result()
    minutes = (time.monotonic() - soak_began) / 60
    base_kib, end_kib = done["base_kib"], ctx.server_rss_kib()
    figures: dict[str, Any] = {
        "runs": count,
        "lanes": lanes,
        "stopped": done["stopped"],
        "runs_per_min": round(count / minutes, 1) if minutes else 0.0,
        "p50_s": round(percentile(walls, 50), 2),
        "p95_s": round(percentile(walls, 95), 2),
        "counter": ctx.counter(),
        f"rss_after_{baseline_at}_mib": round(base_kib / 1024, 1),
        "rss_end_mib": round(end_kib / 1024, 1),
        "rss_growth_pct": round(100 * (end_kib - base_kib) / base_kib, 1) if base_kib else 0.0,
    }
    problems += judge_memory(base_kib, end_kib, assert_it=not short)
    problems += ctx.slot_problems(expect_zero=True)
    return DrillReport.of("soak", figures, problems, time.monotonic() - began)


def one_run(ctx: DrillContext, index: int) -> tuple[str | None, float | None]:
    """(why the run does not count, or None; its wall time from create to its result)."""
    started = time.monotonic()
    created = ctx.create_run(PROMPT)
    if created.status != 202 or not created.run_id:
        return f"create {index + 1} answered {created.status} {created.message}", None
    record = ctx.wait_terminal([created.run_id], RUN_TIMEOUT, with_result=True)[created.run_id]
    return run_problem(created.run_id, record), time.monotonic() - started
