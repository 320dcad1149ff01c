// A continued run's starting point (repo-init, docs/ARCHITECTURE.md §4). The clone is at the
// chain's root commit -- the real commit the first run was cloned at -- and every ancestor's
// patch is applied and committed on top of it, in chain order. So a continuation works
// whether or not anyone pushed the earlier runs' branch, and the patch it produces is
// incremental: relative to that synthetic commit, it applies on top of the pull request
// branch that holds the earlier patches.
//
// The control plane wrote the "bundle" (format 1: run_id, parent_run_id, repo, root_commit,
// patches [{run_id, patch}] oldest first, session, session_note) and hands repo-init a
// presigned GET for it; the task itself has no S3 permission.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { SESSION_HANDOFF_FILE } = require("./constants");
const { runGit, gitReason } = require("./git");
const { request, s3Reason } = require("./http");
const { countMessages } = require("./session");

const BUNDLE_FORMAT = 1;
// The bundle holds up to a few 10 MB patches and an 8 MiB session: 64 MiB is ample, and a
// bigger answer is not ours.
const BUNDLE_MAX_BYTES = 64 * 1024 * 1024;
const BUNDLE_TIMEOUT_MS = 120_000; // S3 in the task's own region: seconds even at the cap
// Fixed identity and dates: the same chain always gives the same commits, so the base commit
// a continuation's patch is relative to can be recomputed anywhere from the same patches.
const COMMIT_ENV = Object.freeze({
  GIT_AUTHOR_NAME: "Cloud Agent",
  GIT_AUTHOR_EMAIL: "cloudagent@users.noreply.github.com",
  GIT_AUTHOR_DATE: "1970-01-01T00:00:00+0000",
  GIT_COMMITTER_NAME: "Cloud Agent",
  GIT_COMMITTER_EMAIL: "cloudagent@users.noreply.github.com",
  GIT_COMMITTER_DATE: "1970-01-01T00:00:00+0000",
});
// Run ids end up in commit messages and reason lines: nothing but the id alphabet.
const RUN_ID_SHAPE = /^[A-Za-z0-9_.-]{1,128}$/;

async function fetchBundle(url) {
  let res;
  try {
    res = await request("GET", url, { timeoutMs: BUNDLE_TIMEOUT_MS, maxBytes: BUNDLE_MAX_BYTES });
  } catch (err) {
    return { error: `could not fetch the continuation bundle: ${err.message}` };
  }
  if (res.status !== 200) return { error: `could not fetch the continuation bundle: ${s3Reason(res)}` };
  let bundle;
  try {
    bundle = JSON.parse(res.body.toString("utf8"));
  } catch (err) {
    return { error: `the continuation bundle is not JSON: ${err.message}` };
  }
  return { bundle };
}

// What repo-init relies on before touching the checkout; null or what is wrong.
function checkBundle(b, runId, head) {
  if (!b || typeof b !== "object" || Array.isArray(b)) return "the continuation bundle is not a JSON object";
  if (b.format !== BUNDLE_FORMAT)
    return `the continuation bundle has format ${JSON.stringify(b.format)}, not ${BUNDLE_FORMAT}`;
  if (typeof b.parent_run_id !== "string" || !RUN_ID_SHAPE.test(b.parent_run_id))
    return "the continuation bundle names no valid parent_run_id";
  if (runId && b.run_id !== runId)
    return `the continuation bundle is for run ${JSON.stringify(b.run_id)}, not ${runId}`;
  if (b.root_commit !== head)
    return `the continuation bundle starts from commit ${JSON.stringify(b.root_commit)}, but the clone is at ${head}`;
  if (!Array.isArray(b.patches)) return "the continuation bundle has no patches list";
  const validEntry = (p) =>
    p && typeof p === "object" && typeof p.patch === "string" &&
    typeof p.run_id === "string" && RUN_ID_SHAPE.test(p.run_id);
  if (!b.patches.every(validEntry))
    return "the continuation bundle has a patch entry without a valid run_id and patch text";
  if (b.session !== null && b.session !== undefined && typeof b.session !== "string")
    return "the continuation bundle's session is neither text nor null";
  if (b.session_note !== null && b.session_note !== undefined && typeof b.session_note !== "string")
    return "the continuation bundle's session_note is neither text nor null";
  return null;
}

const why = (res) => gitReason(res.stderr) || `git exited with ${res.code ?? res.signal}`;

// Each patch as one commit on the clone, in order. -> {head, applied} or {error}
async function applyPatches(patches, deadline) {
  const applied = [];
  for (const { run_id: id, patch } of patches) {
    if (patch === "") continue; // that run changed nothing
    const apply = await runGit(["apply", "--index", "--binary", "--whitespace=nowarn", "-"], {
      deadline,
      input: Buffer.from(patch, "utf8"),
    });
    if (apply.timedOut) return { error: `applying the patch of run ${id} timed out` };
    if (apply.code !== 0) return { error: `patch of run ${id} does not apply: ${why(apply)}` };
    // --allow-empty: a patch that applied but changed nothing still marks its run.
    const commit = await runGit(
      ["commit", "-q", "--no-verify", "--no-gpg-sign", "--allow-empty", "-m", `cloudagent: run ${id}`],
      { deadline, extraEnv: COMMIT_ENV },
    );
    if (commit.timedOut) return { error: `committing the patch of run ${id} timed out` };
    if (commit.code !== 0) return { error: `patch of run ${id} could not be committed: ${why(commit)}` };
    applied.push(id);
  }
  const head = await runGit(["rev-parse", "--verify", "HEAD^{commit}"], { deadline });
  if (head.code !== 0) return { error: `no commit after the patches: ${gitReason(head.stderr)}` };
  return { head: head.stdout.toString("utf8").trim(), applied };
}

// The parent's session beside clone.json, for the agent (whose handoff mount is read-only).
function writeSession(dir, text) {
  const file = path.join(dir, SESSION_HANDOFF_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  const buf = Buffer.from(text, "utf8");
  fs.writeFileSync(tmp, buf, { mode: 0o644 });
  fs.renameSync(tmp, file);
  return { file: SESSION_HANDOFF_FILE, bytes: buf.length, messages: countMessages(buf) };
}

// After the clone at the root commit: fetch the bundle, apply the chain, leave the session.
// -> the clone result's continuation fields ({base, root_commit, parent_run_id,
// patches_applied, session, session_note}) or {error} naming the step that failed.
async function continueRun({ url, runId, root, handoffDir, timeoutMs }) {
  const fetched = await fetchBundle(url);
  if (fetched.error) return { error: `could not continue: ${fetched.error}` };
  const b = fetched.bundle;
  const bad = checkBundle(b, runId, root);
  const named = b && typeof b.parent_run_id === "string" && RUN_ID_SHAPE.test(b.parent_run_id);
  const who = named ? ` run ${b.parent_run_id}` : "";
  if (bad) return { error: `could not continue${who}: ${bad}` };
  const applied = await applyPatches(b.patches, { at: Date.now() + timeoutMs });
  if (applied.error) return { error: `could not continue${who}: ${applied.error}` };
  let session = null;
  if (typeof b.session === "string") {
    try {
      session = writeSession(handoffDir, b.session);
    } catch (err) {
      return { error: `could not continue${who}: cannot write the session to ${handoffDir}: ${err.message}` };
    }
  }
  return {
    base: applied.head,
    root_commit: root,
    parent_run_id: b.parent_run_id,
    patches_applied: applied.applied,
    session,
    session_note: typeof b.session_note === "string" ? b.session_note : null,
  };
}

module.exports = { BUNDLE_MAX_BYTES, COMMIT_ENV, checkBundle, continueRun };
