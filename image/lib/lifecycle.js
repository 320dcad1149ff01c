// How a run ends: stop() on a signal or the hard cap (TERM pi's group, KILL after the
// grace), finish() exactly once on every exit path (kill what is left, save pi's session,
// write the `patch` events and the `runtime_end` line with its result, exit). Exit codes:
// docs/ARCHITECTURE.md §4.
"use strict";

const { killEverything, signalGroup } = require("./cleanup");
const { elapsedMs, emit, exitAfterFlush, own } = require("./emit");
const { tighten } = require("./git");
const { collectPatch } = require("./patch");
const { buildResult } = require("./result");
const { saveSession } = require("./session");

const CLOSE_WAIT_MS = 2000; // after pi exits, how long to wait for its stdout to drain
const PATCH_TIMEOUT_MS = 60_000; // git add + diff after a run that ended on its own
// On a stop, pi gets the grace period minus this reserve (at most half of the grace), so
// the patch is out before ECS sends SIGKILL at the end of stopTimeout.
const PATCH_RESERVE_MS = 10_000;
const MIN_PATCH_MS = 500; // even with a zero grace (or an overrun one), try briefly

// What the other modules set or read about the run in progress.
const run = {
  finished: false,
  child: null, // the pi ChildProcess
  childReaped: false,
  stopping: null, // {code, reason, deadline} once a signal or the hard cap asked pi to stop
  baseCommit: null, // the commit the repository was checked out at, once cloned
  continuation: null, // {parent_run_id, root_commit} when the run continues another
  session: null, // {file, url, error} when pi keeps a session (lib/session.js)
};
let killTimer = null;
let finishDeadline = null; // {at}: when the git work of finish() must be over

// pi's group id is its pid: only use it while pi is unreaped, so it cannot be recycled.
function piGroup() {
  return run.child && run.child.pid && !run.childReaped ? run.child.pid : null;
}

// Once: kill what is left of the run, write the patch and the result, exit. A second
// signal meanwhile changes nothing but the deadline of the git work.
function finish(code, reason, extra) {
  if (run.finished) return;
  run.finished = true;
  if (killTimer) clearTimeout(killTimer);
  killEverything(piGroup());
  const now = Date.now();
  const stopping = run.stopping;
  finishDeadline = { at: stopping ? Math.max(stopping.deadline, now + MIN_PATCH_MS) : now + PATCH_TIMEOUT_MS };
  const work = run.baseCommit
    ? collectPatch(run.baseCommit, finishDeadline)
    : Promise.resolve({ patch: null, chunks: [] });
  // The session is saved while git works (pi is dead, so its file is complete); its event
  // comes before the patch events, which stay right before runtime_end.
  const saving = sessionWork(finishDeadline);
  Promise.all([work.catch((err) => ({ error: `patch failed: ${err.message}` })), saving])
    .then(([out, saved]) => {
      if (saved.event) emit(saved.event);
      (out.chunks || []).forEach((data, seq) => emit(own("patch", { seq, data })));
      if (out.patch && run.continuation) Object.assign(out.patch, run.continuation);
      const result = buildResult(out.patch || null, out.error || null, saved.summary);
      const fields = { exit_code: code, reason, duration_ms: elapsedMs(), ...extra, result };
      emit(own("runtime_end", fields));
      if (code !== 0) process.stderr.write(`entrypoint: ${reason}\n`);
      exitAfterFlush(code);
    });
}

// -> {event, summary} for finish(): nothing without an upload URL (result.session null).
function sessionWork(deadline) {
  const s = run.session;
  if (!s || !s.url) return Promise.resolve({ event: null, summary: null });
  if (!s.file) {
    // ended before pi started (a failed clone), or the file could not be prepared
    const summary = { saved: false, bytes: 0, messages: 0, truncated: false };
    return Promise.resolve({ event: s.error ? own("session_save_failed", { error: s.error }) : null, summary });
  }
  return saveSession(s.file, s.url, deadline).catch((err) => ({
    event: own("session_save_failed", { error: err.message }),
    summary: { saved: false, bytes: 0, messages: 0, truncated: false },
  }));
}

// When git must be done after a stop signal: a little before the grace ends, because the
// patch lines still have to be written before ECS sends SIGKILL.
function stopDeadline(cfg) {
  const graceMs = cfg.grace * 1000;
  return Date.now() + graceMs - Math.min(1000, graceMs / 4);
}

// A signal or the hard cap: TERM pi's whole group, KILL after the grace period. With a
// repository, pi's share of the grace leaves room for the patch before ECS's SIGKILL.
function stop(code, reason, cfg) {
  if (run.finished) {
    tighten(finishDeadline, stopDeadline(cfg));
    return;
  }
  if (run.stopping) return;
  const graceMs = cfg.grace * 1000;
  const reserve = run.baseCommit ? Math.min(PATCH_RESERVE_MS, graceMs / 2) : 0;
  const stopping = { code, reason, deadline: stopDeadline(cfg) };
  run.stopping = stopping;
  if (!run.child) {
    finish(code, reason);
    return;
  }
  if (!run.childReaped) signalGroup(run.child.pid, "SIGTERM");
  killTimer = setTimeout(() => {
    stopping.reason = `${reason}; pi still running after ${(graceMs - reserve) / 1000}s grace, killed`;
    killEverything(piGroup());
    // finish() follows from pi's exit; if even that never comes, do not wait forever
    setTimeout(() => finish(code, stopping.reason), CLOSE_WAIT_MS).unref();
  }, graceMs - reserve);
}

module.exports = { CLOSE_WAIT_MS, run, finish, stop };
