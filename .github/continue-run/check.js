// continue-run.yml's permission check for a `/cloudagent <instruction>` comment, run by
// actions/github-script in a job that holds no id-token and no write on contents:
//
//   await require(`${process.env.GITHUB_WORKSPACE}/.github/continue-run/check.js`)({ github, context, core });
//
// It reads the comment from the environment (COMMENT_BODY, AUTHOR_ASSOCIATION), never from an
// expression in the script. A continuation starts only when all of these hold:
//   - the comment is `/cloudagent <instruction>` (a non-empty instruction);
//   - its author's association is OWNER, MEMBER or COLLABORATOR (anyone else: one-line reply);
//   - the pull request is open, its head branch is cloudagent/run_<ULID> and its head repository
//     is this repository (not a fork);
//   - a commit on the branch names a run: the newest `cloudagent: run run_<ULID>` commit,
//     following the branch's first parents from its head (a merge of the base branch brings in
//     other pull requests' commits as second parents; those are not this branch's runs).
// Every refusal but "not a command" gets a one-line reply, and nothing runs. On success it sets
// the outputs allowed=true, parent_run_id, branch, pr_number and instruction.
"use strict";

const ALLOWED_ASSOCIATIONS = ["OWNER", "MEMBER", "COLLABORATOR"];
const RUN_ID = "run_[0-9A-HJKMNP-TV-Z]{26}"; // chalicelib.core.ids.RUN_ID_RE
const BRANCH = new RegExp(`^cloudagent/(${RUN_ID})$`);
// run-agent.yml's `cloudagent: run <id>` and continue-run.yml's
// `cloudagent: run <id> (continues <parent>)`: the first id is the run that wrote the commit.
const RUN_COMMIT = new RegExp(`^cloudagent: run (${RUN_ID})(?:\\s|$)`);
const COMMAND = /^\/cloudagent(?:\s+([\s\S]*))?$/i;

/** The instruction after `/cloudagent` ("" when none); null when the comment is no command. */
function parseCommand(body) {
  const match = COMMAND.exec(String(body || "").trim());
  return match ? (match[1] || "").trim() : null;
}

/** The newest run named on the branch: first parents from `headSha` over the PR's commits. */
function parentRun(commits, headSha) {
  const bySha = new Map(commits.map((c) => [c.sha, c]));
  let commit = bySha.get(headSha);
  while (commit) {
    const match = RUN_COMMIT.exec(commit.commit.message);
    if (match) return match[1];
    const first = (commit.parents || [])[0];
    commit = first ? bySha.get(first.sha) : undefined;
  }
  return null;
}

async function check({ github, context, core, env = process.env }) {
  const { owner, repo } = context.repo;
  const number = context.issue.number;
  core.setOutput("allowed", "false");
  const reply = async (text) => {
    core.notice(text);
    await github.rest.issues.createComment({ owner, repo, issue_number: number, body: text });
  };

  const instruction = parseCommand(env.COMMENT_BODY);
  if (instruction === null) {
    core.info("not a /cloudagent command");
    return false;
  }
  if (!ALLOWED_ASSOCIATIONS.includes(env.AUTHOR_ASSOCIATION)) {
    await reply(
      "Only the repository's owners, members and collaborators can use `/cloudagent`; nothing was started.",
    );
    return false;
  }
  if (!context.payload.issue || !context.payload.issue.pull_request) {
    await reply("`/cloudagent` works on pull requests only; nothing was started.");
    return false;
  }
  if (!instruction) {
    await reply("Usage: `/cloudagent <instruction>`; nothing was started.");
    return false;
  }
  const { data: pr } = await github.rest.pulls.get({ owner, repo, pull_number: number });
  const branch = BRANCH.exec(pr.head.ref);
  const headRepo = pr.head.repo ? pr.head.repo.full_name.toLowerCase() : "";
  if (!branch || headRepo !== `${owner}/${repo}`.toLowerCase()) {
    await reply(
      "`/cloudagent` continues an agent's run on its own pull request (head branch `cloudagent/<run id>` in this repository); nothing was started.",
    );
    return false;
  }
  if (pr.state !== "open") {
    await reply("`/cloudagent` works on open pull requests only; nothing was started.");
    return false;
  }
  // At most 250 commits (the API's limit): far more than an agent's pull request holds.
  const commits = await github.paginate(github.rest.pulls.listCommits, {
    owner,
    repo,
    pull_number: number,
    per_page: 100,
  });
  const parent = parentRun(commits, pr.head.sha);
  if (!parent) {
    await reply(
      "No commit on this branch names a Cloud Agent run (`cloudagent: run run_…`); nothing was started.",
    );
    return false;
  }
  core.setOutput("parent_run_id", parent);
  core.setOutput("branch", pr.head.ref);
  core.setOutput("pr_number", String(number));
  core.setOutput("instruction", instruction);
  core.setOutput("allowed", "true");
  core.info(`continuing run ${parent} on ${pr.head.ref} (head ${pr.head.sha})`);
  try {
    // Seen: the result follows as a comment when the run has finished.
    await github.rest.reactions.createForIssueComment({
      owner,
      repo,
      comment_id: context.payload.comment.id,
      content: "eyes",
    });
  } catch (error) {
    core.warning(`could not react to the comment: ${error.message}`);
  }
  return true;
}

module.exports = check;
module.exports.parseCommand = parseCommand;
module.exports.parentRun = parentRun;
module.exports.ALLOWED_ASSOCIATIONS = ALLOWED_ASSOCIATIONS;
