// The `result` on runtime_end (docs/ARCHITECTURE.md §4): final message, usage, tool calls,
// duration, patch summary and saved session, read from every line pi prints (also the
// message_update lines the compact log drops). The control plane reads the run's outcome from the log stream, so
// the task needs no permission to report it.
"use strict";

const { elapsedMs } = require("./emit");

const FINAL_MESSAGE_MAX_BYTES = 64 * 1024; // UTF-8 bytes of final_message

const usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
let toolCalls = 0;
let lastAssistant = null; // {stopReason, errorMessage} of the last assistant message_end
let lastAssistantMessage = null; // the last assistant message pi finished (message_end)
let pendingUpdate = null; // raw line of a message_update newer than that: still streaming

function addUsage(u) {
  if (!u || typeof u !== "object") return;
  const n = (x) => (typeof x === "number" && Number.isFinite(x) ? x : 0);
  usage.input += n(u.input);
  usage.output += n(u.output);
  usage.cacheRead += n(u.cacheRead);
  usage.cacheWrite += n(u.cacheWrite);
  usage.cost += n(u.cost && u.cost.total);
}

// Takes one line of pi's stdout into account; true for a message_update line (the compact
// log leaves those out).
function track(line) {
  // pi serialises events with `type` first, so partial-message updates (most of the bytes,
  // each repeating the whole partial message) are recognised without parsing them.
  // The newest one is kept unparsed: if the run is stopped mid-stream, it holds the
  // message the model was writing, which no message_end will ever carry.
  if (line.startsWith('{"type":"message_update"')) {
    pendingUpdate = line;
    return true;
  }
  if (line.startsWith('{"type":"tool_execution_start"')) toolCalls++;
  else if (line.startsWith('{"type":"message_end"')) {
    try {
      const msg = JSON.parse(line).message;
      if (msg && msg.role === "assistant") {
        lastAssistant = { stopReason: msg.stopReason, errorMessage: msg.errorMessage };
        lastAssistantMessage = msg;
        pendingUpdate = null;
        addUsage(msg.usage);
      }
    } catch {
      // not JSON after all: forwarded as text by the caller
    }
  }
  return false;
}

function messageText(msg) {
  if (typeof msg.content === "string") return msg.content;
  if (!Array.isArray(msg.content)) return "";
  return msg.content
    .filter((part) => part && part.type === "text" && typeof part.text === "string")
    .map((part) => part.text)
    .join("\n");
}

// At most `max` UTF-8 bytes, cut before a character, never inside one.
function capUtf8(text, max) {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= max) return { text, truncated: false };
  let end = max;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--; // continuation byte: back off
  return { text: buf.toString("utf8", 0, end), truncated: true };
}

// `session`: lib/session.js's summary of the saved session, null when the run saves none.
function buildResult(patch, patchError, session = null) {
  let msg = lastAssistantMessage;
  let stopReason = msg ? (msg.stopReason ?? null) : null;
  // Stopped while the model was still streaming: the last assistant message is the partial
  // one in the newest message_update (pi never finished it, so it has no stop reason).
  if (pendingUpdate) {
    try {
      const partial = JSON.parse(pendingUpdate).message;
      if (partial && partial.role === "assistant") {
        msg = partial;
        stopReason = null;
        addUsage(partial.usage); // whatever the provider had reported so far
      }
    } catch {
      // a malformed line: keep the last finished message
    }
    pendingUpdate = null;
  }
  const capped = msg ? capUtf8(messageText(msg), FINAL_MESSAGE_MAX_BYTES) : { text: null, truncated: false };
  const result = {
    final_message: capped.text,
    final_message_truncated: capped.truncated,
    stop_reason: stopReason,
    usage: {
      input_tokens: usage.input,
      output_tokens: usage.output,
      cache_read_tokens: usage.cacheRead,
      cache_write_tokens: usage.cacheWrite,
      cost_usd: Math.round(usage.cost * 1e10) / 1e10, // drop float noise from the sum
    },
    tool_calls: toolCalls,
    duration_seconds: Math.round(elapsedMs()) / 1000,
    patch,
    session,
  };
  if (patchError) result.patch_error = patchError;
  return result;
}

module.exports = { track, lastAssistant: () => lastAssistant, buildResult };
