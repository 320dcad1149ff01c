// git: every call bounded by a deadline, isolated from any user or system git config, never
// prompting, and carrying the run's tag so the clean-up can find it.
"use strict";

const { spawn } = require("node:child_process");
const { TAG_VAR, tag, signalGroup } = require("./cleanup");
const { PROVIDER_KEY_VARS, REPO_TOKEN_VAR } = require("./constants");

const env = process.env;
let allowedProtocol = "https"; // the repository's scheme once configured (file:// in tests)
let activeGit = null; // {arm(at)} of the git process running now, to tighten its deadline

// The one transport git may use: that of AGENT_REPO_URL (https unless a local file:// repo).
function allowProtocol(scheme) {
  allowedProtocol = scheme;
}

function gitEnv(extra) {
  const e = { ...env, [TAG_VAR]: tag };
  // The agent holds none of these; repo-init holds the token and passes it per fetch (extraEnv).
  for (const keyVar of PROVIDER_KEY_VARS) delete e[keyVar];
  delete e[REPO_TOKEN_VAR];
  for (const name of Object.keys(e)) if (name.startsWith("GIT_")) delete e[name];
  return {
    ...e,
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null", // no credential helpers, no aliases, no HOME needed
    GIT_ALLOW_PROTOCOL: allowedProtocol,
    // abort a transfer that stalls below 1 KB/s for 30 s (the deadline bounds the rest)
    GIT_HTTP_LOW_SPEED_LIMIT: "1000",
    GIT_HTTP_LOW_SPEED_TIME: "30",
    LC_ALL: "C", // messages in the reason line are stable English
    ...extra,
  };
}

// Options on every call: the repository may have been rewritten by the agent, so nothing in
// its config may run a program or change the diff format the patch consumers rely on.
const GIT_BASE_ARGS = [
  "-c", "safe.directory=*",
  "-c", "core.fsmonitor=false",
  "-c", "core.hooksPath=/dev/null",
  "-c", "credential.helper=",
  "-c", "color.ui=never",
];

// Runs git; resolves {code, signal, stdout (Buffer), stderr, timedOut, overflow}. `deadline`
// is an object ({at: ms}) so a later signal can bring it forward while git runs. `input`
// (a Buffer) is written to git's stdin, e.g. a patch for `git apply`.
function runGit(args, { deadline, extraEnv, maxBytes, input }) {
  return new Promise((resolve) => {
    const out = [];
    let outBytes = 0;
    let stderr = "";
    let timedOut = false;
    let overflow = false;
    let proc;
    try {
      proc = spawn("git", [...GIT_BASE_ARGS, ...args], {
        cwd: process.cwd(),
        env: gitEnv(extraEnv),
        detached: true, // own group: a timeout kills its helpers (remote-https, index-pack)
        stdio: [input ? "pipe" : "ignore", "pipe", "pipe"],
      });
    } catch (err) {
      resolve({ code: null, signal: null, stdout: Buffer.alloc(0), stderr: err.message, timedOut, overflow });
      return;
    }
    let timer = null;
    const kill = () => signalGroup(proc.pid, "SIGKILL");
    const arm = (at) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, Math.max(0, at - Date.now()));
    };
    arm(deadline.at);
    activeGit = { arm };
    if (input) {
      proc.stdin.on("error", () => {}); // git may exit before reading it all: its code says why
      proc.stdin.end(input);
    }
    proc.stdout.on("data", (chunk) => {
      if (overflow) return;
      out.push(chunk);
      outBytes += chunk.length;
      if (maxBytes && outBytes > maxBytes) {
        overflow = true; // enough to know it is too big: stop git early
        kill();
      }
    });
    proc.stderr.on("data", (chunk) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4096);
    });
    proc.on("error", (err) => {
      stderr += err.message;
    });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      if (activeGit && activeGit.arm === arm) activeGit = null;
      resolve({ code, signal, stdout: Buffer.concat(out), stderr, timedOut, overflow });
    });
  });
}

// The line of git's stderr that says what went wrong: its first `fatal:`/`error:` line (the
// later ones are often generic, e.g. "Could not read from remote repository."), else the last.
function gitReason(text) {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const first = lines.find((l) => /^(fatal|error):/.test(l));
  return (first || lines.pop() || "").slice(0, 300);
}

// Brings `deadline` ({at}) forward to `at`, also for the git process running now (a stop
// signal arrived while the patch was being collected).
function tighten(deadline, at) {
  if (!deadline || at >= deadline.at) return;
  deadline.at = at;
  if (activeGit) activeGit.arm(at);
}

module.exports = { allowProtocol, runGit, gitReason, tighten };
