// Configuration from the environment (docs/ARCHITECTURE.md §4): every variable is checked
// before anything runs, so a bad value ends the run with exit 2 and one line that names it.
"use strict";

const { PROVIDERS, AGENT_HANDOFF_DIR, CONTINUE_URL_VAR, SESSION_UPLOAD_URL_VAR } = require("./constants");
const { checkUrl } = require("./http");

const env = process.env;

const MAX_RUNTIME_LIMIT = 7200; // seconds; also the default
const DEFAULT_GRACE = 30; // seconds; matches the task definition's stopTimeout
const MAX_GRACE = 120; // ECS caps stopTimeout at 120 s: a longer grace could never run
const DEFAULT_CLONE_TIMEOUT = 300; // seconds for init + fetch + checkout together (repo-init)
const MAX_CLONE_TIMEOUT = 3600;
// How long the agent waits for the model proxy's health route: both containers start
// together and the proxy listens within a second; 30 s is the ceiling (the local runner
// and tests may shorten it with AGENT_MODEL_PROXY_WAIT_SECONDS).
const MAX_PROXY_WAIT = 30;

function parseSeconds(name, def, min, max) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return { value: def };
  const s = raw.trim();
  if (!/^[0-9]+$/.test(s)) return { error: `${name} must be a whole number of seconds, got ${JSON.stringify(raw)}` };
  const value = Number(s);
  if (value < min || value > max) return { error: `${name} must be between ${min} and ${max}, got ${s}` };
  return { value };
}

// AGENT_REPO_URL: https:// only (file:// with AGENT_ALLOW_LOCAL_REPOS=1, for tests and the
// local runner). Everything else -- ssh, http, git://, ext::, a leading `-` that git would
// read as an option -- is refused before git sees it.
function checkRepoUrl(raw) {
  if (raw.startsWith("-")) return { error: "AGENT_REPO_URL must not start with '-'" };
  if (/[\s\x00-\x1f\x7f]/.test(raw)) return { error: "AGENT_REPO_URL contains whitespace or control characters" };
  let url;
  try {
    url = new URL(raw);
  } catch {
    return { error: "AGENT_REPO_URL is not a URL (expected https://github.com/OWNER/NAME.git)" };
  }
  if (url.protocol === "https:") {
    // Credentials in the URL would be logged and written to .git/config.
    if (url.username || url.password) return { error: "AGENT_REPO_URL must not carry credentials (use AGENT_REPO_TOKEN)" };
    if (url.search || url.hash || !url.hostname || url.pathname.length < 2)
      return { error: "AGENT_REPO_URL is not a repository URL (no query, fragment or empty path)" };
    return { url: raw, scheme: "https", origin: url.origin };
  }
  if (url.protocol === "file:") {
    if (!["1", "true"].includes((env.AGENT_ALLOW_LOCAL_REPOS || "").trim().toLowerCase()))
      return { error: "AGENT_REPO_URL is a file:// URL, allowed only with AGENT_ALLOW_LOCAL_REPOS=1" };
    if (url.hostname) return { error: "AGENT_REPO_URL file:// URL must not name a host" };
    return { url: raw, scheme: "file", origin: null };
  }
  return { error: `AGENT_REPO_URL must be an https:// URL, got ${JSON.stringify(url.protocol.replace(/:$/, ""))}` };
}

// A branch, tag, full ref or commit: a conservative subset of git's ref syntax, never an
// option (leading `-`) and nothing a shell or git's revision syntax would interpret.
function checkRepoRef(ref) {
  const ok =
    ref.length <= 255 &&
    /^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/.test(ref) &&
    !ref.includes("..") &&
    !ref.includes("//") &&
    !ref.endsWith("/") &&
    !ref.endsWith(".") &&
    !ref.endsWith(".lock");
  return ok ? null : `AGENT_REPO_REF ${JSON.stringify(ref)} is not a valid branch, tag or commit`;
}

function readRepoConfig(cfg) {
  const raw = (env.AGENT_REPO_URL || "").trim();
  const ref = (env.AGENT_REPO_REF || "").trim();
  if (!raw) {
    if (ref) cfg.error = "AGENT_REPO_REF is set but AGENT_REPO_URL is not";
    return;
  }
  const checked = checkRepoUrl(raw);
  if (checked.error) {
    cfg.error = checked.error;
    return;
  }
  const refError = ref ? checkRepoRef(ref) : null;
  if (refError) {
    cfg.error = refError;
    return;
  }
  const timeout = parseSeconds("AGENT_REPO_CLONE_TIMEOUT_SECONDS", DEFAULT_CLONE_TIMEOUT, 1, MAX_CLONE_TIMEOUT);
  if (timeout.error) {
    cfg.error = timeout.error;
    return;
  }
  cfg.repo = { ...checked, ref: ref || null, cloneTimeoutMs: timeout.value * 1000 };
}

// AGENT_MODEL_PROXY_URL: where pi reaches the model proxy (http://127.0.0.1:8787 in a task).
// Plain http to this machine's loopback only: the proxy is the task's own sidecar.
function readProxyUrl(cfg) {
  const raw = (env.AGENT_MODEL_PROXY_URL || "").trim();
  cfg.proxyUrl = null;
  if (!raw) {
    if (cfg.headless) cfg.error = "AGENT_MODEL_PROXY_URL is not set (the model proxy pi calls instead of the provider)";
    return;
  }
  let url;
  try {
    url = new URL(raw);
  } catch {
    cfg.error = `AGENT_MODEL_PROXY_URL is not a URL: ${JSON.stringify(raw)}`;
    return;
  }
  if (url.protocol !== "http:" || url.hostname !== "127.0.0.1" || url.username || url.password || url.search || url.hash) {
    cfg.error = `AGENT_MODEL_PROXY_URL must be http://127.0.0.1:PORT (the task's own proxy), got ${JSON.stringify(raw)}`;
    return;
  }
  cfg.proxyUrl = url.href.replace(/\/+$/, "");
  const wait = parseSeconds("AGENT_MODEL_PROXY_WAIT_SECONDS", MAX_PROXY_WAIT, 1, MAX_PROXY_WAIT);
  if (wait.error) cfg.error = wait.error;
  cfg.proxyWaitMs = (wait.value || MAX_PROXY_WAIT) * 1000;
}

// AGENT_SESSION_UPLOAD_URL: the presigned PUT for the run's session (lib/session.js). Only
// a headless run keeps a session; an interactive task's operator drives pi themselves.
function readSessionUrl(cfg) {
  const raw = (env[SESSION_UPLOAD_URL_VAR] || "").trim();
  cfg.sessionUrl = null;
  if (!raw || !cfg.headless) return;
  const checked = checkUrl(SESSION_UPLOAD_URL_VAR, raw);
  if (checked.error) cfg.error = checked.error;
  else cfg.sessionUrl = checked.url;
}

// AGENT_CONTINUE_URL (repo-init): the presigned GET of a continuation's bundle
// (lib/continuation.js); it needs a repository to continue in.
function readContinueUrl(cfg) {
  const raw = (env[CONTINUE_URL_VAR] || "").trim();
  cfg.continueUrl = null;
  if (!raw) return;
  if (!cfg.repo) {
    cfg.error = cfg.error || `${CONTINUE_URL_VAR} is set but AGENT_REPO_URL is not`;
    return;
  }
  const checked = checkUrl(CONTINUE_URL_VAR, raw);
  if (checked.error) cfg.error = checked.error;
  else cfg.continueUrl = checked.url;
}

function readConfig() {
  const prompt = env.JOB_PROMPT || "";
  const cfg = {
    headless: prompt !== "",
    prompt,
    provider: (env.AGENT_PROVIDER || "").trim(),
    model: (env.AGENT_MODEL || "").trim(),
    logDeltas: ["1", "true"].includes((env.AGENT_LOG_DELTAS || "").trim().toLowerCase()),
  };
  const max = parseSeconds("AGENT_MAX_RUNTIME_SECONDS", MAX_RUNTIME_LIMIT, 1, MAX_RUNTIME_LIMIT);
  const grace = parseSeconds("AGENT_STOP_GRACE_SECONDS", DEFAULT_GRACE, 0, MAX_GRACE);
  cfg.maxRuntime = max.value;
  cfg.grace = grace.value;
  cfg.error = max.error || grace.error || null;
  // Provider and model matter only when the entrypoint starts pi itself (headless).
  if (!cfg.error && cfg.headless) {
    // pi trims its stdin: a blank prompt would start a run with nothing to do.
    if (!prompt.trim()) cfg.error = "JOB_PROMPT is blank (unset it for an interactive task)";
    else if (!cfg.provider) cfg.error = "AGENT_PROVIDER is not set";
    else if (!Object.hasOwn(PROVIDERS, cfg.provider))
      cfg.error = `unknown AGENT_PROVIDER ${JSON.stringify(cfg.provider)} (expected one of ${Object.keys(PROVIDERS).join(", ")})`;
    else if (!cfg.model) cfg.error = "AGENT_MODEL is not set";
  }
  cfg.handoffDir = (env.AGENT_HANDOFF_DIR || "").trim() || AGENT_HANDOFF_DIR;
  cfg.repo = null;
  if (!cfg.error) readRepoConfig(cfg);
  if (!cfg.error) readProxyUrl(cfg);
  if (!cfg.error) readSessionUrl(cfg);
  return cfg;
}

module.exports = { readConfig, checkRepoUrl, checkRepoRef, readRepoConfig, readContinueUrl };
