// Patch out: stage everything (new files too), diff the index against the base commit --
// not HEAD, so commits the agent made itself are included -- binary-safe, and cut into the
// ordered `patch` events' `data` strings (docs/ARCHITECTURE.md §4).
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { own } = require("./emit");
const { runGit, gitReason } = require("./git");

const PATCH_MAX_BYTES = 10 * 1024 * 1024; // whole patch; beyond it, cut and flag truncated
const PATCH_CHUNK_BYTES = 200_000; // patch text per `patch` event
// CloudWatch Logs takes events up to 256 KiB (262,144 bytes, 26 of them overhead). JSON
// escaping can grow a chunk (quotes, backslashes, control characters), so chunks are
// also bounded by the size of their serialised line.
const LOG_LINE_MAX_BYTES = 250_000;

function parseShortstat(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    files_changed: num(/(\d+) files? changed/),
    insertions: num(/(\d+) insertions?\(\+\)/),
    deletions: num(/(\d+) deletions?\(-\)/),
  };
}

// The `data` strings of the `patch` events: each at most PATCH_CHUNK_BYTES of text and at most
// LOG_LINE_MAX_BYTES once JSON-escaped on its line, cut between UTF-8 characters.
function chunkPatch(buf, overhead) {
  const chunks = [];
  let start = 0;
  while (start < buf.length) {
    let size = Math.min(PATCH_CHUNK_BYTES, buf.length - start);
    for (;;) {
      let end = start + size;
      while (end > start + 1 && end < buf.length && (buf[end] & 0xc0) === 0x80) end--;
      const data = buf.toString("utf8", start, end);
      const lineBytes = overhead + Buffer.byteLength(JSON.stringify(data));
      if (lineBytes <= LOG_LINE_MAX_BYTES || end - start <= 64) {
        chunks.push(data);
        start = end;
        break;
      }
      size = Math.max(64, Math.floor(((end - start) * LOG_LINE_MAX_BYTES) / lineBytes) - 16);
    }
  }
  return chunks;
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });
function isUtf8(buf) {
  try {
    utf8Strict.decode(buf);
    return true;
  } catch {
    return false;
  }
}

async function gitDiff(base, deadline) {
  return runGit(
    [
      "diff", "--cached", "--binary", "--no-color", "--no-ext-diff", "--no-textconv",
      "--src-prefix=a/", "--dst-prefix=b/", base, "--",
    ],
    { deadline, maxBytes: PATCH_MAX_BYTES },
  );
}

// Marks every file binary for the diff (the repository's own attributes stay below ours
// in precedence only in .git/info/attributes) and restores the file afterwards.
async function withAllBinary(fn) {
  const file = path.join(process.cwd(), ".git", "info", "attributes");
  let before = null;
  try {
    before = fs.readFileSync(file);
  } catch {
    // no such file yet
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.concat([before || Buffer.alloc(0), Buffer.from("\n* -diff\n")]));
  try {
    return await fn();
  } finally {
    if (before === null) fs.rmSync(file, { force: true });
    else fs.writeFileSync(file, before);
  }
}

async function collectPatch(base, deadline) {
  const timeoutMsg = "timed out collecting the patch";
  // Every process of the run is dead by now: an index lock left by a `git commit` the stop
  // interrupted is stale, and would make `git add` fail.
  fs.rmSync(path.join(process.cwd(), ".git", "index.lock"), { force: true });
  const add = await runGit(["add", "-A", "--", "."], { deadline });
  if (add.timedOut) return { error: `git add: ${timeoutMsg}` };
  if (add.code !== 0) return { error: `git add failed: ${gitReason(add.stderr)}` };
  const stat = await runGit(["diff", "--cached", "--shortstat", base, "--"], { deadline });
  if (stat.timedOut) return { error: `git diff: ${timeoutMsg}` };
  if (stat.code !== 0) return { error: `git diff failed: ${gitReason(stat.stderr)}` };
  let diff = await gitDiff(base, deadline);
  // A text file in a legacy encoding makes a patch that is not UTF-8, which a JSON string
  // cannot carry byte for byte: such a patch is made again with every file as binary
  // (exact and applicable, only not readable as text).
  if (!diff.timedOut && diff.code === 0 && !isUtf8(diff.stdout)) {
    diff = await withAllBinary(() => gitDiff(base, deadline));
  }
  if (diff.timedOut) return { error: `git diff: ${timeoutMsg}` };
  if (diff.code !== 0 && !diff.overflow) return { error: `git diff failed: ${gitReason(diff.stderr)}` };
  let buf = diff.stdout;
  if (buf.length === 0) return { patch: null, chunks: [] };
  let truncated = false;
  if (diff.overflow || buf.length > PATCH_MAX_BYTES) {
    truncated = true;
    // Cut before the first file that does not fit whole, so what is sent still applies.
    const cut = buf.subarray(0, PATCH_MAX_BYTES).lastIndexOf("\ndiff --git ");
    let end = cut > 0 ? cut + 1 : PATCH_MAX_BYTES;
    while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
    buf = buf.subarray(0, end);
  }
  const overhead = Buffer.byteLength(JSON.stringify(own("patch", { seq: 999999, data: "" })));
  const chunks = chunkPatch(buf, overhead);
  return {
    patch: {
      base_commit: base,
      ...parseShortstat(stat.stdout.toString("utf8")),
      bytes: buf.length,
      chunks: chunks.length,
      truncated,
    },
    chunks,
  };
}

module.exports = { collectPatch };
