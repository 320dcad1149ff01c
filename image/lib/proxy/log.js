// The proxy's stdout: JSON lines only, each with the run id, in its own log stream
// (`agent/model-proxy/<task-id>`), which the agent's user cannot write to. The run's billed
// usage is read from here, not from what the agent reports.
"use strict";

const runId = process.env.RUN_ID || "";
process.stdout.on("error", () => {}); // a vanished log reader must not crash the proxy

function line(type, fields) {
  process.stdout.write(`${JSON.stringify({ type, run_id: runId, ts: new Date().toISOString(), ...fields })}\n`);
}

// Writes everything queued, then exits (at most after a few seconds: a reader that stopped
// reading must not keep the task alive).
function exitAfterFlush(code) {
  setTimeout(() => process.exit(code), 3000).unref();
  process.stdout.write("", () => process.exit(code));
}

module.exports = { line, exitAfterFlush };
