"""The kills drill: a process dies mid-run, and nothing is lost and every slot comes back.

Three cases against the running `make up`, each judged by the table (status, reason, the
counter against the runs that hold a slot):

a. **the API server killed between writing a run and RunTask**: the drill arms the server's
   fault hook (`devtools.local.serve.fault_file`: the server SIGKILLs itself at the next ECS
   RunTask) and creates a run -> the connection drops, the record stays PENDING with its slot
   and no task. The server is started again as `make up` does (`api_server.ensure_server`).
   The reaper fails PENDING records older than 5 minutes; the drill does not wait 5 minutes:
   it ages the record (created_at/updated_at rewritten in the embedded DynamoDB - time travel
   in the rehearsal's table, never in AWS) and runs one reaper pass -> FAILED_TO_START with
   a reason, the slot freed once (the counter back where it was).
b. **the task runner killed mid-run** (SIGKILL; its pid is the one `agents.ensure_runner`
   recorded): a `run: sleep 60` run with max_runtime_seconds=5 is RUNNING; with the runner
   dead, nothing reports its end and it stays RUNNING on moto. Once its cap plus grace has
   passed the reaper stops and reconciles it (STOPPED with the reaper's reason). The long form
   waits the deployed grace (the reaper's AGENT_STOP_GRACE_SECONDS, 30 s); the short form
   runs that reaper pass with the grace set to 0 for the pass (an environment override of the
   invocation) so it waits only the 5 s cap. The runner is then started again with `ensure_runner`.
c. **a task that exits before its RUNNING event was delivered**: a `run: true` run (on the
   restarted runner: it still runs new runs) is run to STOPPED, then put back as its create
   left it (`events.rewind`) and given only its STOPPED event -> the same final record:
   STOPPED, its result read, the slot released once.

Figures: each case's final status, its reason, and seconds from the fault to reconciled.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.drill import events
from devtools.drill.context import RUN_PREFIX, TERMINAL, DrillContext, DrillReport
from devtools.local import agents, processes
from devtools.local.api_server import ensure_server
from devtools.local.lambdas import function_environment
from devtools.local.runner.loop import MARKER as RUNNER_MARKER
from devtools.local.serve import fault_file
from devtools.local.session import SERVE_MARKER

NAME = "kills"
PENDING_STALE_SECONDS = 300  # chalicelib.runs.reaper: a PENDING record this old is failed
AGED_SECONDS = PENDING_STALE_SECONDS + 60
CAPPED_RUNTIME = 5  # the runner-kill case's max_runtime_seconds
DEFAULT_GRACE = 30  # AGENT_STOP_GRACE_SECONDS when the reaper's environment lacks it
WAIT_SECONDS = 60


def _slot_problems(
    ctx: DrillContext, run_id: str, record: dict[str, Any], before: int
) -> list[str]:
    """The run's slot released and the counter back where it was before the create."""
    counter = ctx.counter()
    if record.get("slot_held") is not False or counter != before:
        return [
            f"run {run_id}: slot_held {record.get('slot_held')!r}, counter {counter} "
            f"after the reaper (was {before} before the create)"
        ]
    return []


def _gone(pid: int | None, marker: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while processes.alive(pid, marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def deployed_grace(ctx: DrillContext) -> int:
    """The reaper's AGENT_STOP_GRACE_SECONDS as deployed (what the long form waits)."""
    _, variables = function_environment(ctx.aws, ctx.function_name("reaper"))
    return int(variables.get("AGENT_STOP_GRACE_SECONDS") or DEFAULT_GRACE)


def age_record(ctx: DrillContext, run_id: str, seconds: float) -> None:
    """Move the record's creation `seconds` into the past (created_at, updated_at and the
    time index's sort key) so the reaper judges it as that old."""
    then = datetime.now(UTC) - timedelta(seconds=seconds)
    stamp = then.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ctx.db.update_item(
        TableName=ctx.table,
        Key={"pk": {"S": RUN_PREFIX + run_id}, "sk": {"S": "RUN"}},
        UpdateExpression="SET created_at = :t, updated_at = :t, gsi1sk = :k",
        ExpressionAttributeValues={":t": {"S": stamp}, ":k": {"S": f"{stamp}#{run_id}"}},
        ConditionExpression="attribute_exists(pk)",
    )


def _restart_server(ctx: DrillContext) -> int:
    """`make up`'s ensure_server with the wiring it last wrote: the server started again."""
    state = ctx.paths.load_state()
    config = json.loads(ctx.paths.serve_config.read_text())
    pid, _ = ensure_server(ctx.paths, state, config, lambda _: None)
    ctx.paths.save_state(state)
    ctx.server_pid = pid
    return pid


def _restart_runner(ctx: DrillContext) -> int:
    """`make up`'s ensure_runner: the task runner started again, its state recorded."""
    state = ctx.paths.load_state()
    info = agents.ensure_runner(ctx.paths, state, ctx.aws)
    ctx.paths.save_state(state)
    return info.pid


def api_killed(ctx: DrillContext) -> tuple[dict[str, Any], list[str]]:
    """Case a: SIGKILL between the record and RunTask -> FAILED_TO_START, slot freed once."""
    problems: list[str] = []
    known = {str(r["run_id"]) for r in ctx.run_records()}
    before = ctx.counter()
    old_pid = ctx.server_pid
    armed = fault_file(ctx.paths.root)
    armed.parent.mkdir(parents=True, exist_ok=True)
    armed.touch()
    began = time.monotonic()
    try:
        answer = ctx.create_run(events.PROMPT)
    finally:
        armed.unlink(missing_ok=True)
    if answer.status not in (0, 502):
        problems.append(f"the create answered {answer.status} although the server was killed")
    if not _gone(old_pid, SERVE_MARKER):
        problems.append(f"the API server (pid {old_pid}) is still alive after the fault")
    orphans = [r for r in ctx.records_without_task() if str(r["run_id"]) not in known]
    if len(orphans) != 1:
        problems.append(f"{len(orphans)} new records without a task after the kill, not 1")
    if ctx.counter() != before + 1:
        problems.append(f"the counter is {ctx.counter()} after the kill, not {before + 1}")
    _restart_server(ctx)
    if not orphans:
        return {"api_kill": "no record"}, problems
    run_id = str(orphans[0]["run_id"])
    if orphans[0].get("status") != "PENDING" or not orphans[0].get("slot_held"):
        problems.append(f"run {run_id} was {orphans[0].get('status')} without its slot")
    age_record(ctx, run_id, AGED_SECONDS)
    ctx.invoke_reaper()
    seconds = time.monotonic() - began
    record = ctx.record(run_id) or {}
    reason = record.get("failure_reason")
    if record.get("status") != "FAILED_TO_START" or not reason:
        problems.append(f"run {run_id} is {record.get('status')} ({reason}) after the reaper")
    problems += _slot_problems(ctx, run_id, record, before)
    figures = {
        "api_kill": record.get("status"),
        "api_kill_reason": reason,
        "api_kill_s": round(seconds, 1),
    }
    return figures, problems


def runner_killed(ctx: DrillContext, short: bool) -> tuple[dict[str, Any], list[str]]:
    """Case b: the runner dies mid-run -> the reaper stops and reconciles the run after its
    cap plus grace; the runner is started again."""
    problems: list[str] = []
    before = ctx.counter()
    created = ctx.create_run("run: sleep 60", max_runtime_seconds=CAPPED_RUNTIME)
    if created.status != 202 or not created.run_id:
        return {"runner_kill": "not created"}, [
            f"the capped run answered {created.status}: {created.message}"
        ]
    run_id = created.run_id
    deadline = time.monotonic() + WAIT_SECONDS
    while (ctx.record(run_id) or {}).get("status") != "RUNNING":
        if time.monotonic() > deadline:
            problems.append(f"run {run_id} never became RUNNING")
            break
        time.sleep(0.1)
    pid = events.runner_pid(ctx)
    if pid is None:
        return {"runner_kill": "no runner"}, [*problems, "the task runner is not running"]
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    if not _gone(pid, RUNNER_MARKER):
        problems.append(f"the runner (pid {pid}) survived SIGKILL")
    grace = 0 if short else deployed_grace(ctx)
    time.sleep(max(0.0, CAPPED_RUNTIME + grace + 1 - (time.monotonic() - killed)))
    left = ctx.record(run_id) or {}
    if left.get("status") in TERMINAL:
        problems.append(f"run {run_id} was {left.get('status')} before the reaper (who said?)")
    overrides = {"AGENT_STOP_GRACE_SECONDS": "0"} if short else None
    ctx.invoke_reaper(overrides)
    record = ctx.wait_terminal([run_id], 10)[run_id] or {}
    seconds = time.monotonic() - killed
    reason = record.get("stopped_reason") or record.get("reaped_reason")
    if record.get("status") != "STOPPED" or not reason:
        problems.append(f"run {run_id} is {record.get('status')} ({reason}) after the reaper")
    problems += _slot_problems(ctx, run_id, record, before)
    _restart_runner(ctx)
    figures = {
        "runner_kill": record.get("status"),
        "runner_kill_reason": reason,
        "runner_kill_s": round(seconds, 1),
    }
    return figures, problems


def running_event_lost(ctx: DrillContext) -> tuple[dict[str, Any], list[str]]:
    """Case c: only the STOPPED event reaches the record as its create left it."""
    began = time.monotonic()
    snapshots, problems = events.snapshot_runs(ctx, 1)
    if not snapshots:
        return {"early_exit": "not created"}, problems
    runs, found = events.captured(ctx, snapshots)
    problems += found
    if not runs:
        return {"early_exit": "not run"}, problems
    problems += events.rewind_and_deliver(ctx, runs, ["STOPPED"])
    run_id = runs[0].run_id
    record = ctx.record(run_id) or {}
    figures = {
        "early_exit": record.get("status"),
        "early_exit_result": "read" if isinstance(record.get("result"), dict) else "missing",
        "early_exit_s": round(time.monotonic() - began, 1),
    }
    return figures, problems


def run(ctx: DrillContext, *, short: bool) -> DrillReport:
    """The three cases in order (the last one's run also shows the restarted runner works)."""
    began = time.monotonic()
    problems = list(ctx.stop_active())
    figures: dict[str, Any] = {}
    for case in (
        lambda: api_killed(ctx),
        lambda: runner_killed(ctx, short),
        lambda: running_event_lost(ctx),
    ):
        found, trouble = case()
        figures.update(found)
        problems += trouble
    problems += ctx.slot_problems()
    return DrillReport.of(NAME, figures, problems, time.monotonic() - began)
