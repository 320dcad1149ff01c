// Runs an actions/github-script `script:` the way the action does (the body of an async function
// of github, context, core and require), against fakes of the GitHub API, and prints what it did.
//
//   node github_script_harness.js < scenario.json
//
// scenario: {"script": "<the step's script>", "repo": {"owner", "repo"}, "payload": <event>,
//            "pr": <GET /pulls/{n} data>, "commits": [<GET /pulls/{n}/commits items>],
//            "api": {"<METHOD> <path>": {"status": 200, "json": ... | "text": "..."}},
//            "context": {"runId": ..., "runAttempt": ...}}
// `api` answers the script's fetch() calls to the control API (by method and path, without the
// host); core.getIDToken returns a fixed token. The step's env (COMMENT_BODY, ...) comes from
// this process's environment and its files land in the working directory, as on a runner.
// Prints {"outputs", "comments", "reactions", "calls", "requests", "summary", "error"} as JSON.
"use strict";

const fs = require("fs");

async function main() {
  const scenario = JSON.parse(fs.readFileSync(0, "utf8"));
  const outputs = {};
  const comments = [];
  const reactions = [];
  const calls = [];
  const requests = [];
  let summary = "";
  const log = () => {};
  global.fetch = async (url, init = {}) => {
    const path = new URL(url).pathname + new URL(url).search;
    const method = init.method || "GET";
    requests.push({ method, path, headers: init.headers || {}, body: init.body ? JSON.parse(init.body) : null });
    const answer = (scenario.api || {})[`${method} ${path}`] || { status: 404, json: { error: "not faked" } };
    const text = answer.text !== undefined ? answer.text : JSON.stringify(answer.json);
    return {
      ok: answer.status >= 200 && answer.status < 300,
      status: answer.status,
      json: async () => JSON.parse(text),
      text: async () => text,
    };
  };
  const core = {
    getIDToken: async () => "token",
    summary: {
      addRaw(text) {
        summary += text;
        return this;
      },
      write: async () => {},
    },
    setOutput: (name, value) => {
      outputs[name] = String(value);
    },
    setFailed: (message) => {
      outputs.__failed = String(message);
    },
    info: log,
    notice: log,
    warning: log,
    error: log,
  };
  const listCommits = async () => {
    throw new Error("listCommits is read through github.paginate");
  };
  const github = {
    rest: {
      issues: {
        createComment: async (args) => {
          comments.push(args);
          return { data: {} };
        },
      },
      pulls: {
        get: async (args) => {
          calls.push(["pulls.get", args]);
          return { data: scenario.pr };
        },
        listCommits,
      },
      reactions: {
        createForIssueComment: async (args) => {
          reactions.push(args);
          return { data: {} };
        },
      },
    },
    paginate: async (method, args) => {
      calls.push(["paginate", args]);
      if (method !== listCommits) throw new Error("unexpected paginate");
      return scenario.commits || [];
    },
  };
  const payload = scenario.payload || {};
  const context = {
    runId: 1,
    runAttempt: 1,
    ...(scenario.context || {}),
    repo: scenario.repo,
    issue: { ...scenario.repo, number: payload.issue ? payload.issue.number : undefined },
    payload,
  };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  let error = null;
  try {
    await new AsyncFunction("github", "context", "core", "require", scenario.script)(
      github,
      context,
      core,
      require,
    );
  } catch (e) {
    error = String(e && e.stack ? e.stack : e);
  }
  process.stdout.write(JSON.stringify({ outputs, comments, reactions, calls, requests, summary, error }));
}

main();
