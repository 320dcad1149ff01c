"""The events drill: ECS task events delivered twice and out of order change nothing.

EventBridge delivers at least once and in no guaranteed order; the task-state handler promises
that repeats and reordering leave the same record and release the run's slot exactly once. For
each of K runs (`run: true` with the fake model; short 2, long 10):

1. in batches of at most the cap, the local runner is paused (SIGSTOP) while the drill
   creates the runs, so the drill reads each record exactly as the create left it -
   STARTING, its task ARN, its slot held: the *snapshot*; then it resumes and runs them,
   delivering RUNNING and STOPPED once, in order, through the deployed rule to the
   task-state function: the *ordered* record;
2. the events it delivered are rebuilt with the runner's own builders (`ecs_events`) from the
   task as moto describes it and what the ordered record says of it (exit code, stop code and
   reason, start and stop times) - the runner keeps no copy of what it sent;
3. replay: STOPPED, RUNNING, STOPPED, RUNNING onto the ordered record -> nothing changes;
4. rewind: the snapshot is written back with its slot (the record and the counter +1 in one
   transaction: time travel in the rehearsal's table, never in AWS), then the same four
   deliveries, STOPPED first -> the record equals the ordered one and the slot is released
   exactly once: the counter back where it was and equal to the active runs, never negative
   between deliveries, `slot_held` false.

Figures: runs, events delivered (by the drill), duplicates (deliveries of an event the record
had already been given), reorderings (sequences sent STOPPED first), mismatches (must be 0).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from devtools.drill.context import COUNTER_KEY, RUN_PREFIX, DrillContext, DrillReport
from devtools.local import processes
from devtools.local.lambdas import deliver
from devtools.local.runner import ecs_events
from devtools.local.runner.loop import MARKER as RUNNER_MARKER

NAME = "events"
RUNS = {True: 2, False: 10}
PROMPT = "run: true"
RUN_SECONDS = 90  # a `run: true` run is STOPPED with its result within seconds
# Written from the clock at each write, not from the events: they differ between two
# deliveries of the same events by design (when the write happened, when the TTL ends).
VOLATILE = frozenset({"updated_at", "expires_at", "result_read_at", "blocked_domains_read_at"})


_T = TypeVar("_T")


@dataclass
class Captured:
    """One run of the drill: its record as the create left it (DynamoDB's form), its record
    after the runner's one ordered delivery, and the events that delivery carried."""

    run_id: str
    snapshot: dict[str, Any]
    ordered: dict[str, Any]
    events: dict[str, dict[str, Any]]


# --- pure judgement (unit-tested) ------------------------------------------------------------


def record_mismatches(
    ordered: dict[str, Any], other: dict[str, Any], how: str, ignore: Iterable[str] = VOLATILE
) -> list[str]:
    """Each attribute (but the volatile ones) on which `other` differs from the `ordered`
    record, as a sentence naming the run, the attribute and both values."""
    skip = set(ignore)
    run_id = ordered.get("run_id") or other.get("run_id")
    return [
        f"run {run_id}: {key} is {other.get(key)!r} after {how}, "
        f"{ordered.get(key)!r} after one ordered delivery"
        for key in sorted((set(ordered) | set(other)) - skip)
        if ordered.get(key) != other.get(key)
    ]


def slot_release_problems(
    before: int,
    rewound: int,
    samples: list[int],
    final: int,
    records: dict[str, dict[str, Any] | None],
) -> list[str]:
    """Each rewound run's slot released exactly once. The counter was `before` + N once the
    N snapshots were back (each with its slot), `samples` (read after every delivery, the runs'
    deliveries interleaved) never went negative, it is `before` again at the end (`final`),
    and no record holds a slot: each released at least once and N releases in all, so each
    exactly once."""
    problems = []
    count = len(records)
    if rewound != before + count:
        problems.append(
            f"the counter was {rewound} after {count} run(s) were rewound, not {before + count}"
        )
    if any(value < 0 for value in samples):
        problems.append(f"the counter went negative ({min(samples)})")
    if final != before:
        problems.append(
            f"{before + count - final} slot(s) released for {count} rewound run(s): "
            f"the counter is {final}, not {before}"
        )
    for run_id, record in records.items():
        held = None if record is None else record.get("slot_held")
        if held is not False:
            problems.append(f"run {run_id}: slot_held is {held!r} after its STOPPED event")
    return problems


SEQUENCE = ["STOPPED", "RUNNING", "STOPPED", "RUNNING"]


def bad_order(events: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event twice, STOPPED before RUNNING: what at-least-once, unordered delivery may do."""
    return [events[status] for status in SEQUENCE]


# --- the running make up ---------------------------------------------------------------------


def runner_pid(ctx: DrillContext) -> int | None:
    """The local task runner's pid when it runs (the one `ensure_runner` recorded)."""
    pid = processes.read_pid(ctx.paths.pid_file("runner"))
    return pid if processes.alive(pid, RUNNER_MARKER) else None


@contextlib.contextmanager
def runner_paused(ctx: DrillContext) -> Iterator[None]:
    """The runner frozen (SIGSTOP) for the block, so no task of a new run starts and no event
    is delivered; always resumed (SIGCONT) after."""
    pid = runner_pid(ctx)
    if pid is None:
        raise RuntimeError("the local task runner is not running")
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def raw_record(ctx: DrillContext, run_id: str) -> dict[str, Any] | None:
    """The run's item as DynamoDB stores it (to be written back as it was)."""
    answer = ctx.db.get_item(
        TableName=ctx.table,
        Key={"pk": {"S": RUN_PREFIX + run_id}, "sk": {"S": "RUN"}},
        ConsistentRead=True,
    )
    return answer.get("Item")


def snapshot_runs(ctx: DrillContext, count: int) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """`count` new runs, each with its record as the create left it (runner paused meanwhile):
    ({run_id: item}, problems)."""
    snapshots: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    with runner_paused(ctx):
        for _ in range(count):
            created = ctx.create_run(PROMPT)
            if created.status != 202 or not created.run_id:
                problems.append(f"a create answered {created.status}: {created.message}")
                continue
            item = raw_record(ctx, created.run_id)
            status = (item or {}).get("status", {}).get("S")
            if item is None or status != "STARTING" or "task_arn" not in item:
                problems.append(f"run {created.run_id} was {status} right after its create")
                continue
            snapshots[created.run_id] = item
    return snapshots, problems


def rebuilt_events(ctx: DrillContext, record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The RUNNING and STOPPED events the runner delivered for the run of `record`, built
    as it builds them: the task as moto describes it, the rest from the ordered record."""
    arn = str(record["task_arn"])
    cluster = ctx.api_environment["CLUSTER_ARN"]
    [task] = ctx.aws.client("ecs").describe_tasks(cluster=cluster, tasks=[arn])["tasks"]
    container = ctx.api_environment["CONTAINER_NAME"]
    started = record.get("started_at")
    pull_started = record.get("billing_started_at") or started
    running = ecs_events.running_event(
        task, container, pull_started=str(pull_started), started=str(started)
    )
    stopped = ecs_events.stopped_event(
        task,
        container,
        exit_code=record.get("exit_code"),
        stop_code=str(record.get("stop_code") or ecs_events.ESSENTIAL_CONTAINER_EXITED),
        reason=str(record.get("stopped_reason") or ""),
        started=started,
        pull_started=pull_started,
    )
    if record.get("stopped_at"):
        for key in ("stoppingAt", "stoppedAt", "executionStoppedAt"):
            stopped["detail"][key] = record["stopped_at"]
    return {"RUNNING": running, "STOPPED": stopped}


def rewind(ctx: DrillContext, item: dict[str, Any]) -> None:
    """Put the snapshot back with the slot it held (one transaction, as the create wrote the
    record and took the slot): the run as it was before any event reached it."""
    ctx.db.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": ctx.table, "Item": item}},
            {
                "Update": {
                    "TableName": ctx.table,
                    "Key": COUNTER_KEY,
                    "UpdateExpression": "ADD active :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )


def deliver_all(ctx: DrillContext, events: list[dict[str, Any]]) -> tuple[list[int], list[str]]:
    """Deliver `events` in order through the deployed rules; (the counter after each, problems
    such as an event no rule took or a handler that failed)."""
    samples: list[int] = []
    problems: list[str] = []
    for event in events:
        status = event["detail"]["lastStatus"]
        try:
            outcomes = deliver(ctx.aws, event)
        except Exception as error:
            problems.append(f"delivering {status} failed: {error}"[:500])
            outcomes = [{}]
        if not outcomes:
            problems.append(f"no rule took the {status} event of {event['resources'][0]}")
        samples.append(ctx.counter())
    return samples, problems


def _parallel(work: list[Callable[[], _T]]) -> list[_T]:
    """Each callable in its own thread (EventBridge delivers different runs' events at once)."""
    if not work:
        return []
    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(lambda job: job(), work))


def rewind_and_deliver(ctx: DrillContext, runs: list[Captured], sequence: list[str]) -> list[str]:
    """Put every run's snapshot back, deliver each run's events as `sequence` (lastStatus
    values; the runs at once, each run's in order), and judge each record against its ordered
    one and the slots; the problems found."""
    before = ctx.counter()
    for one in runs:
        rewind(ctx, one.snapshot)
    rewound = ctx.counter()
    delivered = _parallel(
        [lambda one=one: deliver_all(ctx, [one.events[s] for s in sequence]) for one in runs]
    )
    problems = [p for _, found in delivered for p in found]
    samples = [value for got, _ in delivered for value in got]
    after = {one.run_id: ctx.record(one.run_id) for one in runs}
    problems += slot_release_problems(before, rewound, samples, ctx.counter(), after)
    how = " then ".join(sequence) + " onto the record as its create left it"
    for one in runs:
        problems += record_mismatches(one.ordered, after[one.run_id] or {}, how)
    return problems


def replay(ctx: DrillContext, runs: list[Captured]) -> list[str]:
    """Each run's events again, STOPPED first and twice, onto its final record (the runs at
    once): nothing may change, not the record, not the counter."""
    counter = ctx.counter()
    delivered = _parallel([lambda one=one: deliver_all(ctx, bad_order(one.events)) for one in runs])
    problems = [p for _, found in delivered for p in found]
    moved = [value for got, _ in delivered for value in got if value != counter]
    if moved or ctx.counter() != counter:
        problems.append(f"the counter moved from {counter} ({moved}) on repeated events")
    for one in runs:
        now = ctx.record(one.run_id) or {}
        problems += record_mismatches(one.ordered, now, "STOPPED, RUNNING twice more")
    return problems


def captured(
    ctx: DrillContext, snapshots: dict[str, dict[str, Any]], timeout: float = RUN_SECONDS
) -> tuple[list[Captured], list[str]]:
    """The runs once the runner ran them (STOPPED with a result), with their events rebuilt."""
    finals = ctx.wait_terminal(snapshots, timeout, with_result=True)
    runs, problems = [], []
    for run_id, snapshot in snapshots.items():
        ordered = finals.get(run_id) or {}
        if ordered.get("status") != "STOPPED" or not isinstance(ordered.get("result"), dict):
            problems.append(
                f"run {run_id} is {ordered.get('status')} "
                f"(result {ordered.get('result_error') or ordered.get('result')!r}) after "
                f"{timeout:.0f}s, not STOPPED with a result"
            )
            continue
        runs.append(Captured(run_id, snapshot, ordered, rebuilt_events(ctx, ordered)))
    return runs, problems


def run(ctx: DrillContext, *, short: bool) -> DrillReport:
    """The drill (see the module docstring); passed when no record differs and every slot was
    released exactly once."""
    began = time.monotonic()
    problems = list(ctx.stop_active())
    total, judged = 0, []
    # In batches of at most the cap: a batch's runs are all active at once, rewound or not.
    cap = max(1, ctx.max_concurrent_runs)
    for first in range(0, RUNS[short], cap):
        snapshots, found = snapshot_runs(ctx, min(cap, RUNS[short] - first))
        problems += found
        runs, found = captured(ctx, snapshots)
        problems += found
        judged += replay(ctx, runs) + rewind_and_deliver(ctx, runs, SEQUENCE)
        total += len(runs)
    problems += judged + ctx.slot_problems()
    figures = {
        "runs": total,
        # Per run: four repeats onto the final record, four onto the rewound one.
        "events_delivered": 8 * total,
        "duplicates": 6 * total,  # all four repeats, and the second of each after a rewind
        "reorderings": 2 * total,  # STOPPED sent first, once in each phase
        "mismatches": len(judged),
    }
    return DrillReport.of(NAME, figures, problems, time.monotonic() - began)
