// Process clean-up: when the run ends, nothing it started may outlive the entrypoint.
//
// Every process pi starts inherits TAG_VAR; at exit the entrypoint kills whatever still
// carries it. pi starts its bash tool children with `detached: true` (their own session),
// so signalling pi's process group alone does not reach them.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");

const TAG_VAR = "AGENT_RUNTIME_TAG";
const tag = `${process.pid}-${crypto.randomBytes(12).toString("hex")}`;

function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}

// Pids of live processes (other than this one) whose environment carries our tag.
function taggedPids() {
  const needle = Buffer.from(`${TAG_VAR}=${tag}\0`);
  const pids = [];
  let entries;
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return pids; // no procfs: only the process group kill applies
  }
  for (const name of entries) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/environ`).indexOf(needle) !== -1) pids.push(pid);
    } catch {
      // exited meanwhile, or another user's process (EACCES): not ours
    }
  }
  return pids;
}

// SIGKILL pi's group (`groupPid`, or null when there is none to signal) and every tagged
// straggler (e.g. `setsid cmd &` from a tool), a few rounds in case a dying parent forked
// once more.
function killEverything(groupPid) {
  if (groupPid) signalGroup(groupPid, "SIGKILL");
  for (let round = 0; round < 3; round++) {
    const pids = taggedPids();
    if (pids.length === 0) return;
    for (const pid of pids) {
      signalGroup(pid, "SIGKILL");
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

module.exports = { TAG_VAR, tag, signalGroup, killEverything };
