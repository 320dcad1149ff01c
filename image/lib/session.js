// pi's conversation across runs (docs/ARCHITECTURE.md §4). A headless run with a repository
// keeps pi's session in a file (`pi --session <file>`, pi's own JSONL format: a header line,
// then one entry per line, each naming its parent by id) and, when the run ends, PUTs it to
// the presigned URL the control plane gave it. A continued run finds its parent's session
// beside clone.json (repo-init fetched it) and copies it to that file before pi starts, so
// pi resumes the conversation itself: the model sees the earlier turns as they were, not a
// transcript re-sent as a new prompt.
//
// The file lives outside the workspace (it must never end up in the patch), under the agent
// user's HOME, which is writable in the task (the agent's root file system is) and per task.
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { own } = require("./emit");
const { request, s3Reason } = require("./http");

// What one run may store: a prefix of whole lines up to this size (pi's sessions grow with
// every tool output; a long run's can reach tens of MiB).
const SESSION_MAX_BYTES = 8 * 1024 * 1024;
const SAVE_TIMEOUT_MS = 30_000; // the PUT, at most; the finish deadline may leave less
const MIN_SAVE_MS = 500; // even at an overrun stop deadline, try briefly
const NL = 0x0a;

function sessionFile() {
  return path.join(process.env.HOME || os.homedir(), ".cloudagent", "session.jsonl");
}

// The complete lines of a JSONL buffer, each without its newline. A last line without one is
// kept only if it is whole JSON: pi appends `entry\n` in one write, so anything else is the
// half of an append a kill interrupted.
function lines(buf) {
  const out = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(NL, start);
    if (nl === -1) {
      const tail = buf.subarray(start);
      if (entryType(tail) !== undefined) out.push(tail);
      break;
    }
    if (nl > start) out.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return out;
}

function joinLines(list) {
  return Buffer.concat(list.flatMap((line) => [line, Buffer.from("\n")]));
}

// The entry's `type`, or undefined when the line is not a JSON object.
function entryType(line) {
  try {
    const entry = JSON.parse(line.toString("utf8"));
    return entry && typeof entry === "object" && !Array.isArray(entry) ? (entry.type ?? null) : undefined;
  } catch {
    return undefined;
  }
}

// Messages are the conversation's turns (user, assistant, tool results); the other entries
// (model or thinking-level changes, labels, compactions) are pi's bookkeeping.
function countMessages(buf) {
  return lines(buf).filter((line) => entryType(line) === "message").length;
}

// At most `max` bytes: the header line, then whole lines in order while they fit. A prefix
// keeps pi's id/parentId tree valid (every kept entry's parent is kept), so the saved file
// still opens and resumes -- at an earlier point of the conversation.
function capSession(buf, max = SESSION_MAX_BYTES) {
  const all = lines(buf);
  const kept = [];
  let bytes = 0;
  let i = 0;
  for (; i < all.length; i++) {
    if (bytes + all[i].length + 1 > max) break;
    kept.push(all[i]);
    bytes += all[i].length + 1;
  }
  const rest = all.slice(i);
  const out = joinLines(kept);
  return {
    buf: out,
    truncated: rest.length > 0,
    messages: kept.filter((line) => entryType(line) === "message").length,
    dropped_messages: rest.filter((line) => entryType(line) === "message").length,
  };
}

// pi opens a session in the directory its header names (`cwd`) and refuses one whose
// directory is gone: the parent ran in another task's workspace, so the header is pointed at
// this run's. -> the file's new content, or null when the first line is no session header
// (pi would discard such a file and start afresh).
function rehome(buf, cwd) {
  const all = lines(buf);
  if (all.length === 0) return null;
  let header;
  try {
    header = JSON.parse(all[0].toString("utf8"));
  } catch {
    return null;
  }
  if (!header || header.type !== "session" || typeof header.id !== "string") return null;
  header.cwd = cwd;
  return joinLines([Buffer.from(JSON.stringify(header)), ...all.slice(1)]);
}

// Before pi starts: the parent's session (if the clone result carries one) copied to `file`.
// -> the event to emit (session_restored / session_unavailable), or null for a run that
// continues nothing.
function restoreSession(handoffDir, cloned, file) {
  if (!cloned.parentRunId) return null;
  const parent = cloned.parentRunId;
  const unavailable = (why) =>
    own("session_unavailable", { parent_run_id: parent, reason: `continuing from the code alone: ${why}` });
  if (!cloned.session || typeof cloned.session.file !== "string")
    return unavailable(cloned.sessionNote || `run ${parent} left no session`);
  let buf;
  try {
    buf = fs.readFileSync(path.join(handoffDir, path.basename(cloned.session.file)));
  } catch (err) {
    return unavailable(`cannot read the session repo-init left: ${err.message}`);
  }
  const content = rehome(buf, process.cwd());
  if (!content) return unavailable(`the session of run ${parent} has no session header`);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, content, { mode: 0o600 });
  } catch (err) {
    return unavailable(`cannot write ${file}: ${err.message}`);
  }
  return own("session_restored", { parent_run_id: parent, messages: countMessages(content), bytes: content.length });
}

// At the end of the run: the file pi kept, capped, PUT to the presigned URL. -> {event,
// summary}: the session_saved / session_save_failed event (null when pi wrote no file) and
// runtime_end.result.session.
async function saveSession(file, url, deadline) {
  const summary = { saved: false, bytes: 0, messages: 0, truncated: false };
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if (err.code === "ENOENT") return { event: null, summary }; // pi never got to write one
    return { event: own("session_save_failed", { error: `cannot read ${file}: ${err.message}` }), summary };
  }
  const capped = capSession(buf);
  Object.assign(summary, { bytes: capped.buf.length, messages: capped.messages, truncated: capped.truncated });
  const timeoutMs = Math.min(SAVE_TIMEOUT_MS, Math.max(MIN_SAVE_MS, deadline.at - Date.now()));
  let error = null;
  try {
    const res = await request("PUT", url, {
      body: capped.buf,
      headers: { "Content-Type": "application/x-ndjson" },
      timeoutMs,
      maxBytes: 64 * 1024, // S3 answers a PUT with an empty body or a short XML error
    });
    if (res.status !== 200) error = `PUT failed: ${s3Reason(res)}`;
  } catch (err) {
    error = `PUT failed: ${err.message}`;
  }
  if (error) return { event: own("session_save_failed", { error }), summary };
  summary.saved = true;
  const { bytes, messages, truncated } = summary;
  const event = own("session_saved", { bytes, messages, truncated, dropped_messages: capped.dropped_messages });
  return { event, summary };
}

module.exports = { SESSION_MAX_BYTES, sessionFile, countMessages, capSession, restoreSession, saveSession };
