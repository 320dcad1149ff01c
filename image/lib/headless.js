// Headless run: `pi --mode json --no-session --provider P --model M` in its own process
// group with the prompt on stdin (argv would read a leading `@` as a file and a leading
// `--` as a flag). With a session to resume or to save (lib/session.js), `--session <file>`
// replaces `--no-session`: pi opens that exact file, resuming what is in it (the prompt is
// then the next turn), or creates it at its first answer. pi's JSON events are forwarded
// to stdout one per line, and the stream is turned into an exit code, because pi itself
// exits 0 in json mode even when every model call failed.
"use strict";

const { spawn } = require("node:child_process");
const readline = require("node:readline");
const { TAG_VAR, tag } = require("./cleanup");
const { PROVIDER_KEY_VARS, REPO_TOKEN_VAR } = require("./constants");
const { forward } = require("./emit");
const { CLOSE_WAIT_MS, run, finish } = require("./lifecycle");
const { track, lastAssistant } = require("./result");

let stderrTail = "";

function verdict(code, signal) {
  const last = lastAssistant() || {};
  const extra = { pi_exit_code: code, pi_signal: signal, stop_reason: last.stopReason ?? null };
  if (run.stopping) return { code: run.stopping.code, reason: run.stopping.reason, extra };
  if (code !== 0 || signal) {
    const tail = stderrTail.trim().split("\n").pop() || "";
    const how = signal ? `signal ${signal}` : `code ${code}`;
    return { code: 1, reason: `pi exited with ${how}${tail ? `: ${tail}` : ""}`, extra };
  }
  if (!lastAssistant()) return { code: 1, reason: "pi produced no assistant message", extra };
  if (last.stopReason === "error" || last.stopReason === "aborted") {
    const why = (last.errorMessage || "").split("\n")[0];
    return { code: 1, reason: `agent ${last.stopReason}${why ? `: ${why}` : ""}`, extra };
  }
  return { code: 0, reason: `agent finished (${last.stopReason})`, extra };
}

function runHeadless(cfg) {
  const childEnv = { ...process.env, [TAG_VAR]: tag };
  // The agent's container holds no key and no repository token (the model proxy and
  // repo-init do); should one be set anyway, e.g. by hand in a local run, pi does not get it.
  // pi needs no key variable: models.json gives it the proxy's placeholder key (pi-config.js).
  for (const keyVar of PROVIDER_KEY_VARS) delete childEnv[keyVar];
  delete childEnv[REPO_TOKEN_VAR];
  const session = run.session && run.session.file ? ["--session", run.session.file] : ["--no-session"];
  const args = ["--mode", "json", ...session, "--provider", cfg.provider, "--model", cfg.model];
  let child;
  try {
    child = spawn("pi", args, { detached: true, env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    finish(1, `could not start pi: ${err.message}`);
    return;
  }
  run.child = child;
  child.on("error", (err) => finish(1, `could not start pi: ${err.message}`));

  child.stdin.on("error", () => {}); // pi may exit before reading: EPIPE is not our failure
  child.stdin.end(cfg.prompt); // closed stdin: an open pipe makes pi wait forever

  child.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk.toString("utf8")).slice(-2048);
  });

  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (line === "") return;
    // message_update lines (a partial message each, most of the bytes) only with AGENT_LOG_DELTAS
    if (track(line) && !cfg.logDeltas) return;
    forward(line);
  });

  let exitInfo = null;
  const done = () => {
    if (!exitInfo) return;
    const v = verdict(exitInfo.code, exitInfo.signal);
    finish(v.code, v.reason, v.extra);
  };
  child.on("exit", (code, signal) => {
    run.childReaped = true;
    exitInfo = { code, signal };
    // stdout normally closes right after; do not hang if a straggler holds it open
    setTimeout(done, CLOSE_WAIT_MS).unref();
  });
  child.on("close", (code, signal) => {
    run.childReaped = true;
    exitInfo = exitInfo || { code, signal };
    done();
  });
}

module.exports = { runHeadless };
