// Output: stdout carries only JSON lines, each with the run id (docs/ARCHITECTURE.md §4).
// A write to a full pipe is queued, not blocked (a slow log reader, a large patch), so the
// exit waits until stdout has taken everything.
"use strict";

const runId = process.env.RUN_ID || "";
// When the run started: the result's duration and runtime_end's duration_ms count from here.
// The entry file sets it once every module is loaded: durations count the run itself.
let startedAt = Date.now();

function startClock() {
  startedAt = Date.now();
}

function elapsedMs() {
  return Date.now() - startedAt;
}

const EXIT_FLUSH_MS = 5000; // a reader that stopped reading must not keep the task alive
process.stdout.on("error", () => {}); // a vanished log reader must not crash the stop path

function exitAfterFlush(code) {
  setTimeout(() => process.exit(code), EXIT_FLUSH_MS);
  process.stdout.write("", () => process.exit(code));
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function own(type, fields) {
  return { type, run_id: runId, ts: new Date().toISOString(), ...fields };
}

// Forwarded pi events get the run id spliced in front, so every line the entrypoint writes
// carries it, without re-serialising a possibly large event.
const runIdPrefix = `{"run_id":${JSON.stringify(runId)},`;
function forward(line) {
  if (line.length > 2 && line[0] === "{" && line[line.length - 1] === "}") {
    process.stdout.write(`${runIdPrefix}${line.slice(1)}\n`);
  } else {
    emit(own("pi_stdout", { text: line })); // keep "every stdout line is JSON"
  }
}

module.exports = { startClock, elapsedMs, exitAfterFlush, emit, own, forward };
