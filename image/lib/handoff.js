// The clone's result, from repo-init to the agent: `$AGENT_HANDOFF_DIR/clone.json`
// ({ok, repo, ref, base_commit} or {ok: false, ..., error}; a continuation adds root_commit,
// parent_run_id, patches_applied, session and session_note, see lib/continuation.js).
// repo-init writes it (it alone holds the repository token); the agent, whose handoff mount
// is read-only, reads it and checks that the workspace is at that commit.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { CLONE_RESULT_FILE } = require("./constants");
const { runGit } = require("./git");

function writeCloneResult(dir, result) {
  const file = path.join(dir, CLONE_RESULT_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(result)}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file); // the agent never sees half a file
  return file;
}

// -> {base, rootCommit, parentRunId, session, sessionNote} (the last four null unless the run
// continues another) or {error}
async function readCloneResult(dir, repo) {
  const file = path.join(dir, CLONE_RESULT_FILE);
  let result;
  try {
    result = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    if (err.code === "ENOENT")
      return { error: `the repository was not cloned (no clone result from repo-init in ${dir})` };
    return { error: `the repository was not cloned (unreadable clone result ${file}: ${err.message})` };
  }
  if (!result || typeof result !== "object") return { error: `the repository was not cloned (bad clone result in ${file})` };
  if (result.repo !== repo.url || (result.ref ?? null) !== repo.ref)
    return { error: `the clone result in ${dir} is for ${result.repo} at ${result.ref}, not ${repo.url} at ${repo.ref}` };
  if (result.ok !== true) return { error: String(result.error || "repo-init could not clone the repository") };
  const base = String(result.base_commit || "");
  const head = await runGit(["rev-parse", "--verify", "HEAD^{commit}"], { deadline: { at: Date.now() + 30_000 } });
  const at = head.code === 0 ? head.stdout.toString("utf8").trim() : null;
  if (!at || at !== base)
    return { error: `the workspace is not at the cloned commit ${base} (HEAD is ${at || "missing"})` };
  const parentRunId = typeof result.parent_run_id === "string" ? result.parent_run_id : null;
  return {
    base,
    parentRunId,
    rootCommit: parentRunId && typeof result.root_commit === "string" ? result.root_commit : null,
    session: parentRunId && result.session && typeof result.session === "object" ? result.session : null,
    sessionNote: parentRunId && typeof result.session_note === "string" ? result.session_note : null,
  };
}

module.exports = { writeCloneResult, readCloneResult };
