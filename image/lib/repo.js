// Repository in (repo-init): `git init` + shallow fetch of the ref + detached checkout into the (empty)
// working directory, before pi starts. Unlike `git clone --branch`, a fetch by name takes
// branches, tags and commit ids alike.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { runGit, gitReason } = require("./git");

const GIT_NAME = "Cloud Agent";
const GIT_EMAIL = "cloudagent@users.noreply.github.com";

function repoLabel(repo) {
  return `${repo.url}${repo.ref ? ` at ${repo.ref}` : ""}`;
}

async function cloneRepo(repo, isFinished) {
  const deadline = { at: Date.now() + repo.cloneTimeoutMs };
  const seconds = repo.cloneTimeoutMs / 1000;
  const fail = (step, detail) => ({ error: `could not clone ${repoLabel(repo)}: ${step} failed: ${detail}` });
  let entries;
  try {
    entries = fs.readdirSync(process.cwd());
  } catch (err) {
    return fail("clone", err.message);
  }
  // A fresh task volume is empty (a file system's own lost+found aside); anything else
  // would end up in the patch or clash with the checkout.
  if (entries.some((name) => name !== "lost+found"))
    return fail("clone", `the workspace ${process.cwd()} is not empty`);

  // The token is used for this one fetch only: as an HTTP header scoped to the repository's
  // origin, passed in the environment of that git process (never argv, never .git/config).
  const fetchEnv = {};
  if (repo.token && repo.origin) {
    const basic = Buffer.from(`x-access-token:${repo.token}`).toString("base64");
    Object.assign(fetchEnv, {
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: `http.${repo.origin}/.extraHeader`,
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    });
  }
  const steps = [
    ["clone", ["init", "-q", "--initial-branch=main"]],
    ["clone", ["remote", "add", "origin", "--", repo.url]],
    ["clone", ["config", "user.name", GIT_NAME]],
    ["clone", ["config", "user.email", GIT_EMAIL]],
    ["fetch", ["fetch", "-q", "--depth", "1", "--no-tags", "origin", "--", repo.ref || "HEAD"], fetchEnv],
    ["checkout", ["checkout", "-q", "--detach", "FETCH_HEAD"]],
    ["checkout", ["rev-parse", "--verify", "HEAD^{commit}"]],
  ];
  let res = null;
  for (const [step, args, extraEnv] of steps) {
    res = await runGit(args, { deadline, extraEnv });
    if (isFinished()) return { error: null }; // stopped meanwhile; finish() owns the exit
    if (res.timedOut) return fail(step, `timed out (AGENT_REPO_CLONE_TIMEOUT_SECONDS=${seconds})`);
    if (res.code !== 0) return fail(step, gitReason(res.stderr) || `git exited with ${res.code ?? res.signal}`);
  }
  if (entries.includes("lost+found")) {
    // not part of the work: keep it out of `git add -A`
    const info = path.join(process.cwd(), ".git", "info");
    fs.mkdirSync(info, { recursive: true });
    fs.appendFileSync(path.join(info, "exclude"), "\n/lost+found/\n");
  }
  return { base: res.stdout.toString("utf8").trim() };
}

module.exports = { repoLabel, cloneRepo };
