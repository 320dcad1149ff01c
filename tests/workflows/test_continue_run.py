"""continue-run.yml: `/cloudagent <instruction>` on an agent's pull request continues its run.

The permission check (.github/continue-run/check.js) runs for real under Node - the workflow's
own github-script step, against fakes of the GitHub API - for the allowed and refused cases; the
push (.github/continue-run/push.sh) runs for real against a local bare repository; run-agent.yml's
continuation path runs its own scripts against a faked control API. The rest are the workflow's
shape: which job holds which permission, what reaches a script only through env, and that the
continuation pushes onto the same branch and never opens a pull request.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.policy_checks import jobs
from tests.support.workflows import load_workflow
from toolchain.paths import PROJECT_ROOT

HERE = Path(__file__).resolve().parent
HARNESS = HERE / "github_script_harness.js"
SCRIPTS = PROJECT_ROOT / ".github" / "continue-run"
CHECK = SCRIPTS / "check.js"
PUSH = SCRIPTS / "push.sh"
REPO = {"owner": "org", "repo": "cloudagent"}
ALLOWED = ["OWNER", "MEMBER", "COLLABORATOR"]
REFUSED = ["CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE", ""]

PARENT = "run_01JQ8Z3K4M5N6P7Q8R9S0T1V2W"
CHILD = "run_01JQ8Z9X8Y7Z6A5B4C3D2E1F0G"
OTHER = "run_01JQ8ZAAAAAAAAAAAAAAAAAAAA"
NEW = "run_01JQ900000000000000000000A"

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture(scope="module")
def doc(workflow_texts) -> dict:
    return load_workflow(workflow_texts["continue-run.yml"])


@pytest.fixture(scope="module")
def agent(workflow_texts) -> dict:
    return load_workflow(workflow_texts["run-agent.yml"])


def step(job: dict, step_id: str) -> dict:
    return next(s for s in job["steps"] if s.get("id") == step_id)


# --- the workflow's shape -------------------------------------------------------------------


def test_triggered_by_a_new_comment_on_a_pull_request_starting_with_the_command(doc):
    assert doc["on"] == {"issue_comment": {"types": ["created"]}}
    assert doc["permissions"] == {}
    check = doc["jobs"]["check"]
    assert check["if"] == (
        "github.event.issue.pull_request && startsWith(github.event.comment.body, '/cloudagent')"
    )
    # The rest follows only what the check decided.
    assert doc["jobs"]["run"]["if"] == "needs.check.outputs.allowed == 'true'"
    assert doc["jobs"]["push"]["if"] == "always() && needs.check.outputs.allowed == 'true'"


def test_each_job_holds_only_what_it_needs(doc):
    check, run, push = (doc["jobs"][name] for name in ("check", "run", "push"))
    # The check: no id-token, no write on contents (it replies, so pull-requests: write).
    assert check["permissions"] == {"contents": "read", "pull-requests": "write"}
    # The run: run-agent.yml, whose run job holds the id-token (asserted with its real
    # permissions in test_workflows.py: running_jobs, write_and_id_token_jobs).
    assert run["uses"] == "./.github/workflows/run-agent.yml"
    assert "steps" not in run
    # The push: write, and no id-token, no environment (no OIDC subject for the API).
    assert push["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "environment" not in push and "environment" not in check


def test_the_comment_reaches_scripts_only_through_env(doc, agent):
    check = step(doc["jobs"]["check"], "check")
    assert check["env"] == {
        "COMMENT_BODY": "${{ github.event.comment.body }}",
        "AUTHOR_ASSOCIATION": "${{ github.event.comment.author_association }}",
    }
    # The instruction goes to run-agent.yml as an input, which it reads through env only.
    assert doc["jobs"]["run"]["with"] == {
        "prompt": "${{ needs.check.outputs.instruction }}",
        "continue_from": "${{ needs.check.outputs.parent_run_id }}",
    }
    assert step(agent["jobs"]["run"], "run")["env"]["PROMPT"] == "${{ inputs.prompt }}"
    assert expressions_in_scripts(doc) == [] and expressions_in_scripts(agent) == []


def expressions_in_scripts(workflow: dict) -> list[str]:
    """Any `${{ }}` inside a `run:` or a github-script `script:` (stricter than injection)."""
    found = []
    for name, job in jobs(workflow).items():
        for s in job.get("steps", []):
            text = str(s.get("run", "")) + str(s.get("with", {}).get("script", ""))
            found += [f"{name}: {e}" for e in re.findall(r"\$\{\{.*?\}\}", text, re.S)]
    return found


def test_the_expression_check_catches_the_comment_in_a_script(workflow_texts):
    planted = workflow_texts["continue-run.yml"].replace(
        "await check({ github, context, core });",
        "await check({ github, context, core, body: `${{ github.event.comment.body }}` });",
    )
    assert planted != workflow_texts["continue-run.yml"]
    assert expressions_in_scripts(load_workflow(planted)) == [
        "check: ${{ github.event.comment.body }}"
    ]


def test_the_scripts_come_from_the_default_branch_never_the_pull_request(doc):
    """issue_comment runs the default branch's workflow; its checkouts of .github/continue-run
    are that commit's. Only the push job checks out the PR branch, and runs nothing from it."""
    check_out = doc["jobs"]["check"]["steps"][0]
    assert check_out["uses"].startswith("actions/checkout@") and "ref" not in check_out["with"]
    assert check_out["with"]["sparse-checkout"] == ".github/continue-run"
    assert check_out["with"]["persist-credentials"] is False
    assert (
        "require(`${process.env.GITHUB_WORKSPACE}/.github/continue-run/check.js`)"
        in (step(doc["jobs"]["check"], "check")["with"]["script"])
    )
    push = doc["jobs"]["push"]["steps"]
    trusted = push[0]
    branch = next(s for s in push if s.get("name") == "The pull request's branch, to push onto")
    assert "ref" not in trusted["with"] and trusted["with"]["path"] == "trusted"
    assert trusted["with"]["persist-credentials"] is False
    assert branch["with"] == {"ref": "${{ needs.check.outputs.branch }}", "path": "branch"}
    runs = [str(s.get("run", "")) for s in push]
    assert "bash trusted/.github/continue-run/push.sh" in runs
    assert not any("branch/" in r for r in runs)


def test_the_continuation_pushes_onto_the_same_branch_and_never_opens_a_pull_request(
    doc, agent, workflow_texts
):
    script = PUSH.read_text()
    assert 'git push --quiet origin "HEAD:refs/heads/$BRANCH"' in script
    pushes = [line for line in script.splitlines() if "git push" in line]
    assert len(pushes) == 2  # the push, and the one retry on the moved branch's new head
    assert not [p for p in pushes if re.search(r"--force|\s-f\b|\+HEAD|\+refs/|--mirror", p)]
    assert "gh pr create" not in script + workflow_texts["continue-run.yml"]
    assert 'message="cloudagent: run $RUN_ID (continues $PARENT_RUN_ID)"' in script
    comment = doc["jobs"]["push"]["steps"][-1]
    assert comment["if"] == "always()"
    assert 'gh pr comment "$PR_NUMBER"' in comment["run"]
    # run-agent.yml's pull-request job (gh pr create) never runs for a continuation.
    pr = agent["jobs"]["pull-request"]
    assert pr["if"].endswith("&& inputs.continue_from == ''")
    assert "gh pr create" in pr["steps"][-1]["run"]


def test_the_push_job_reports_whatever_became_of_the_run(doc):
    """A failed or unstarted run still gets its comment: the job runs after any outcome, reads
    the run from its artifact (absent is no error) and always comments."""
    steps = doc["jobs"]["push"]["steps"]
    result = next(s for s in steps if s.get("id") == "result")
    assert result["uses"].startswith("actions/download-artifact@")
    assert result["continue-on-error"] is True and "if" not in result
    assert result["with"]["name"] == "cloudagent-continue"
    branch = next(s for s in steps if s.get("name") == "The pull request's branch, to push onto")
    assert branch["if"] == "steps.result.outcome == 'success'"
    push = next(s for s in steps if "push.sh" in str(s.get("run")))
    assert "if" not in push and push["env"]["START_ERROR"] == "${{ needs.run.outputs.start_error }}"
    assert steps[-1]["if"] == "always()" and "--body-file" in steps[-1]["run"]


def test_one_continuation_at_a_time_per_pull_request_for_allowed_authors_only(doc):
    concurrency = doc["concurrency"]
    assert concurrency["cancel-in-progress"] is False
    group = concurrency["group"]
    assert "format('continue-run-pr-{0}', github.event.issue.number)" in group
    listed = re.search(r"fromJSON\('(\[.*?\])'\)", group)
    assert listed and json.loads(listed[1]) == ALLOWED == check_constants()["allowed"]
    assert group.rstrip(" }").endswith("|| format('continue-run-{0}', github.run_id)")


def test_the_called_workflow_takes_and_gives_what_the_caller_uses(doc, agent):
    call = agent["on"]["workflow_call"]
    assert set(call["inputs"]) == set(doc["jobs"]["run"]["with"])
    assert all(i["required"] and i["type"] == "string" for i in call["inputs"].values())
    used = set(re.findall(r"needs\.run\.outputs\.(\w+)", json.dumps(doc["jobs"]["push"])))
    assert used == {"run_id", "start_error"} == set(call["outputs"])
    run_outputs = agent["jobs"]["run"]["outputs"]
    for name, output in call["outputs"].items():
        assert output["value"] == f"${{{{ jobs.run.outputs.{name} }}}}"
        assert name in run_outputs


def test_the_run_ids_the_scripts_accept_are_the_apis():
    spec = importlib.util.spec_from_file_location(
        "ids", PROJECT_ROOT / "chalice_api" / "chalicelib" / "core" / "ids.py"
    )
    ids = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ids)
    assert check_constants()["run_id"] == ids.RUN_ID_RE.pattern
    assert f"run_id_re='^{ids.RUN_ID_RE.pattern}$'" in PUSH.read_text()
    assert f"cloudagent/{ids.RUN_ID_RE.pattern}$" in PUSH.read_text()


# --- the permission check, run for real -------------------------------------------------------


def check_constants() -> dict:
    text = CHECK.read_text()
    allowed = json.loads(re.search(r"ALLOWED_ASSOCIATIONS = (\[.*?\]);", text)[1])
    run_id = re.search(r'const RUN_ID = "(.*?)";', text)[1]
    return {"allowed": allowed, "run_id": run_id}


def commit(sha: str, message: str, *parents: str) -> dict:
    return {"sha": sha, "commit": {"message": message}, "parents": [{"sha": p} for p in parents]}


# The original run, a continuation of it, and a human's fix on top.
BRANCH_COMMITS = [
    commit("a1", f"cloudagent: run {PARENT}", "base"),
    commit("b2", f"cloudagent: run {CHILD} (continues {PARENT})", "a1"),
    commit("c3", "Fix a typo", "b2"),
]


def pull_request(**overrides) -> dict:
    pr = {
        "state": "open",
        "head": {
            "ref": f"cloudagent/{PARENT}",
            "sha": "c3",
            "repo": {"full_name": "org/cloudagent"},
        },
    }
    pr["head"].update(overrides.pop("head", {}))
    pr.update(overrides)
    return pr


def run_check(
    doc: dict,
    body: str,
    association: str = "OWNER",
    pr: dict | None = None,
    commits: list[dict] | None = None,
    on_pull_request: bool = True,
) -> dict:
    """The check job's github-script step, as written in the workflow, under Node."""
    script = step(doc["jobs"]["check"], "check")["with"]["script"]
    issue = {"number": 42, **({"pull_request": {"url": "..."}} if on_pull_request else {})}
    scenario = {
        "script": script,
        "repo": REPO,
        "payload": {"issue": issue, "comment": {"id": 7, "body": "(read from env only)"}},
        "pr": pr or pull_request(),
        "commits": BRANCH_COMMITS if commits is None else commits,
    }
    env = {
        **os.environ,
        "GITHUB_WORKSPACE": str(PROJECT_ROOT),
        "COMMENT_BODY": body,
        "AUTHOR_ASSOCIATION": association,
    }
    return node(scenario, env)


def node(scenario: dict, env: dict, cwd: Path | None = None) -> dict:
    result = subprocess.run(
        ["node", str(HARNESS)],
        input=json.dumps(scenario),
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@needs_node
@pytest.mark.parametrize("association", ALLOWED)
def test_an_allowed_author_continues_the_newest_run_on_the_branch(doc, association):
    done = run_check(doc, "/cloudagent Also handle ISO weeks.\n\nKeep the API.", association)
    assert done["error"] is None
    assert done["outputs"] == {
        "allowed": "true",
        "parent_run_id": CHILD,  # the continuation's commit, under the human's fix
        "branch": f"cloudagent/{PARENT}",
        "pr_number": "42",
        "instruction": "Also handle ISO weeks.\n\nKeep the API.",
    }
    assert done["comments"] == []  # the result is the reply
    assert [r["content"] for r in done["reactions"]] == ["eyes"]


@needs_node
@pytest.mark.parametrize("association", REFUSED)
def test_anyone_else_gets_one_line_and_nothing_runs(doc, association):
    done = run_check(doc, "/cloudagent delete the tests", association)
    assert done["error"] is None
    assert done["outputs"] == {"allowed": "false"}
    [reply] = done["comments"]
    assert reply["issue_number"] == 42 and "\n" not in reply["body"]
    assert "owners, members and collaborators" in reply["body"]
    assert done["calls"] == []  # not even the pull request is read for them


@needs_node
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({"pr": pull_request(head={"repo": {"full_name": "fork/cloudagent"}})}, "head branch"),
        ({"pr": pull_request(head={"repo": None})}, "head branch"),
        ({"pr": pull_request(head={"ref": "feature/dates"})}, "head branch"),
        ({"pr": pull_request(head={"ref": "cloudagent/run_not-a-run-id"})}, "head branch"),
        ({"pr": pull_request(head={"ref": f"cloudagent/{PARENT}/x"})}, "head branch"),
        ({"pr": pull_request(state="closed")}, "open pull requests"),
        ({"body": "/cloudagent"}, "Usage"),
        ({"body": "/cloudagent   \n "}, "Usage"),
        ({"on_pull_request": False}, "pull requests only"),
        ({"commits": [commit("c3", "Fix a typo", "base")]}, "No commit on this branch"),
        # An id of the wrong shape is no run.
        ({"commits": [commit("c3", "cloudagent: run run_1234", "base")]}, "No commit"),
    ],
    ids=[
        "fork",
        "deleted-fork",
        "other-branch",
        "bad-run-id",
        "branch-suffix",
        "closed",
        "no-instruction",
        "blank-instruction",
        "an-issue",
        "no-run-commit",
        "malformed-run-commit",
    ],
)
def test_a_refused_command_is_answered_in_one_line(doc, case, expected):
    body = case.pop("body", "/cloudagent go on")
    done = run_check(doc, body, **case)
    assert done["error"] is None
    assert done["outputs"] == {"allowed": "false"}
    [reply] = done["comments"]
    assert expected in reply["body"] and "\n" not in reply["body"]
    assert done["reactions"] == []


@needs_node
@pytest.mark.parametrize("body", ["/cloudagentx go", "/cloud agent go", "please /cloudagent go"])
def test_a_comment_that_is_no_command_is_ignored(doc, body):
    done = run_check(doc, body)
    assert done["outputs"] == {"allowed": "false"}
    assert done["comments"] == [] and done["calls"] == []


@needs_node
def test_the_command_is_case_insensitive_like_the_jobs_startswith(doc):
    done = run_check(doc, "/CloudAgent rename it")
    assert done["outputs"]["allowed"] == "true"
    assert done["outputs"]["instruction"] == "rename it"


@needs_node
def test_the_parent_is_found_along_the_branchs_first_parents(doc):
    """A merge brings in another run's commit as a second parent, listed last: not this branch's."""
    commits = [
        *BRANCH_COMMITS[:2],
        commit("o1", f"cloudagent: run {OTHER}", "base"),
        commit("m4", "Merge branch 'dates' into cloudagent/...", "b2", "o1"),
    ]
    done = run_check(doc, "/cloudagent go on", pr=pull_request(head={"sha": "m4"}), commits=commits)
    assert done["outputs"]["parent_run_id"] == CHILD
    # The original run alone: its own id.
    done = run_check(
        doc, "/cloudagent go on", pr=pull_request(head={"sha": "a1"}), commits=BRANCH_COMMITS[:1]
    )
    assert done["outputs"]["parent_run_id"] == PARENT


@needs_node
def test_the_instruction_is_passed_verbatim_never_evaluated(doc):
    nasty = "/cloudagent $(touch /tmp/pwned) `id` ${{ github.token }} '; exit 1; '"
    done = run_check(doc, nasty)
    assert done["outputs"]["instruction"] == nasty.removeprefix("/cloudagent ")


@needs_node
def test_a_check_without_the_association_test_is_caught(doc, tmp_path):
    """The same step with a planted check.js that skips the association lets anyone in."""
    planted = CHECK.read_text().replace(
        "!ALLOWED_ASSOCIATIONS.includes(env.AUTHOR_ASSOCIATION)", "false"
    )
    target = tmp_path / ".github" / "continue-run"
    target.mkdir(parents=True)
    (target / "check.js").write_text(planted)
    script = step(doc["jobs"]["check"], "check")["with"]["script"]
    scenario = {
        "script": script,
        "repo": REPO,
        "payload": {"issue": {"number": 42, "pull_request": {}}, "comment": {"id": 7}},
        "pr": pull_request(),
        "commits": BRANCH_COMMITS,
    }
    env = {
        **os.environ,
        "GITHUB_WORKSPACE": str(tmp_path),
        "COMMENT_BODY": "/cloudagent go",
        "AUTHOR_ASSOCIATION": "NONE",
    }
    assert node(scenario, env)["outputs"]["allowed"] == "true"


# --- run-agent.yml's continuation path, run against a faked API --------------------------------


def agent_run(agent: dict, tmp_path: Path, env: dict, api: dict) -> dict:
    script = step(agent["jobs"]["run"], "run")["with"]["script"]
    scenario = {"script": script, "repo": REPO, "payload": {}, "api": api}
    base = {
        "API_URL": "https://api.example",
        "API_AUDIENCE": "cloudagent-dev",
        "PROVIDER": "anthropic",
        "MODEL": "claude",
        "REPO": "org/cloudagent",
        "REF": "",
        "SHOW_EVENTS": "false",
        "CONTINUE_FROM": "",
        "ISSUE_NUMBER": "",
        "ISSUE_TITLE": "",
        "ISSUE_BODY": "",
    }
    return node(scenario, {**os.environ, **base, **env}, cwd=tmp_path)


def stopped_run(run_id: str, patch: dict | None) -> dict:
    return {
        "run_id": run_id,
        "status": "STOPPED",
        "exit_code": 0,
        "repo": "org/cloudagent",
        "estimated_cost_usd": 0.12,
        "result": {"final_message": "Done.", "usage": {}, "patch": patch},
    }


@needs_node
def test_a_continuation_sends_continue_from_and_the_instruction(agent, tmp_path):
    patch = {"chunks": 1, "base_commit": "f" * 40, "parent_run_id": PARENT, "truncated": False}
    api = {
        "POST /v1/runs": {"status": 201, "json": {"run_id": NEW, "status": "PENDING"}},
        f"GET /v1/runs/{NEW}": {"status": 200, "json": stopped_run(NEW, patch)},
        f"GET /v1/runs/{NEW}/patch": {"status": 200, "text": "diff --git a/x b/x\n"},
    }
    # Called from a pull-request comment: the event's issue is the pull request.
    env = {
        "PROMPT": "go on",
        "CONTINUE_FROM": PARENT,
        "ISSUE_NUMBER": "42",
        "ISSUE_TITLE": "cloudagent: the PR's title",
        "ISSUE_BODY": "the PR's body",
    }
    done = agent_run(agent, tmp_path, env, api)
    assert done["error"] is None
    post = done["requests"][0]
    assert (post["method"], post["path"]) == ("POST", "/v1/runs")
    assert post["body"] == {
        "prompt": "go on",
        "provider": "anthropic",
        "model": "claude",
        "repo": "org/cloudagent",
        "continue_from": PARENT,
    }
    assert done["outputs"]["run_id"] == NEW and done["outputs"]["exit_code"] == "0"
    assert (tmp_path / "cloudagent-out" / "change.patch").read_text() == "diff --git a/x b/x\n"


@needs_node
def test_a_refused_continuation_says_why(agent, tmp_path):
    reason = {"error": f"run {PARENT} is RUNNING; only a stopped run can be continued"}
    api = {"POST /v1/runs": {"status": 409, "json": reason}}
    done = agent_run(agent, tmp_path, {"PROMPT": "go on", "CONTINUE_FROM": PARENT}, api)
    assert done["error"] and "409" in done["error"]
    assert "only a stopped run can be continued" in done["outputs"]["start_error"]
    assert "run_id" not in done["outputs"]


@needs_node
def test_an_issue_run_is_unchanged(agent, tmp_path):
    api = {
        "POST /v1/runs": {"status": 201, "json": {"run_id": NEW, "status": "PENDING"}},
        f"GET /v1/runs/{NEW}": {"status": 200, "json": stopped_run(NEW, None)},
    }
    env = {"ISSUE_NUMBER": "5", "ISSUE_TITLE": "Fix dates", "ISSUE_BODY": "ISO weeks"}
    done = agent_run(agent, tmp_path, env, api)
    assert done["requests"][0]["body"] == {
        "prompt": "Fix dates\n\nISO weeks",
        "provider": "anthropic",
        "model": "claude",
        "repo": "org/cloudagent",
    }


def publish(agent: dict, tmp_path: Path, continue_from: str) -> dict:
    script = step(agent["jobs"]["run"], "publish")["with"]["script"]
    out = tmp_path / "cloudagent-out"
    out.mkdir()
    for name, text in {
        "report.md": f"**Run** `{NEW}` — STOPPED, exit code 0\n| $0.1200 |",
        "final_message.md": "Done.",
        "withheld.md": "",
        "change.patch": "diff --git a/x b/x\n",
        "title.txt": "cloudagent: go on",
        "ref.txt": "",
        "base_commit.txt": "f" * 40,
    }.items():
        (out / name).write_text(text)
    env = {**os.environ, "RUN_ID": NEW, "ISSUE_NUMBER": "42", "CONTINUE_FROM": continue_from}
    return node({"script": script, "repo": REPO, "payload": {}}, env, cwd=tmp_path)


@needs_node
def test_a_continuation_hands_the_scanned_summary_and_patch_to_continue_run(agent, tmp_path):
    done = publish(agent, tmp_path, PARENT)
    assert done["error"] is None
    assert done["outputs"] == {"continued": "true"}  # no has_patch: no pull-request job
    handed = tmp_path / "cloudagent-continue"
    assert sorted(p.name for p in handed.iterdir()) == ["change.patch", "run_id.txt", "summary.md"]
    assert (handed / "run_id.txt").read_text() == NEW
    summary = (handed / "summary.md").read_text()
    assert NEW in summary and "$0.1200" in summary and "### Final message\n\nDone." in summary
    assert not (tmp_path / "cloudagent-pr").exists()


@needs_node
def test_a_first_run_still_hands_its_patch_to_the_pull_request_job(agent, tmp_path):
    done = publish(agent, tmp_path, "")
    assert done["outputs"]["has_patch"] == "true" and "continued" not in done["outputs"]
    assert (tmp_path / "cloudagent-pr" / "change.patch").exists()
    assert not (tmp_path / "cloudagent-continue").exists()


def test_the_continuation_artifact_is_uploaded_only_after_the_scan(agent):
    steps = agent["jobs"]["run"]["steps"]
    scan = next(i for i, s in enumerate(steps) if s.get("id") == "scan")
    upload = next(
        i
        for i, s in enumerate(steps)
        if "upload-artifact" in str(s.get("uses")) and s["with"]["name"] == "cloudagent-continue"
    )
    assert upload > scan
    assert steps[upload]["if"] == "always() && steps.publish.outputs.continued == 'true'"


# --- the push, run for real -----------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


BRANCH = f"cloudagent/{PARENT}"


@pytest.fixture
def remote(tmp_path: Path) -> dict[str, Path]:
    """A bare origin with the agent's branch, a checkout of it, and the run's artifact."""
    origin, seed, work = tmp_path / "origin.git", tmp_path / "seed", tmp_path / "branch"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "--quiet", "-b", "main", str(seed))
    (seed / "dates.py").write_text("def parse(text):\n    return text\n")
    (seed / "README.md").write_text("dates\n")
    git(seed, "add", ".")
    git(seed, "commit", "--quiet", "-m", f"cloudagent: run {PARENT}")
    git(seed, "push", "--quiet", str(origin), f"HEAD:refs/heads/{BRANCH}")
    git(tmp_path, "clone", "--quiet", "--branch", BRANCH, str(origin), str(work))
    # The continued run's incremental patch, relative to the parent's state.
    (seed / "dates.py").write_text("def parse(text):\n    return text.strip()\n")
    patch = git(seed, "diff") + "\n"
    git(seed, "checkout", "--quiet", "--", ".")
    artifact = tmp_path / "cloudagent-continue"
    artifact.mkdir()
    (artifact / "run_id.txt").write_text(NEW)
    (artifact / "summary.md").write_text(f"## Agent run\n\n**Run** `{NEW}` — STOPPED\n")
    (artifact / "change.patch").write_text(patch)
    return {"origin": origin, "seed": seed, "work": work, "artifact": artifact, "root": tmp_path}


def push(remote: dict[str, Path], **env: str) -> tuple[subprocess.CompletedProcess, str]:
    comment = remote["root"] / "comment.md"
    if "ARTIFACT_RUN_ID" in env:
        (remote["artifact"] / "run_id.txt").write_text(env.pop("ARTIFACT_RUN_ID"))
    full = {
        **os.environ,
        "RUN_ID": NEW,
        "PARENT_RUN_ID": PARENT,
        "BRANCH": BRANCH,
        "REPO_DIR": str(remote["work"]),
        "ARTIFACT_DIR": str(remote["artifact"]),
        "COMMENT_FILE": str(comment),
        "START_ERROR": "",
        "RUN_URL": "https://github.com/org/cloudagent/actions/runs/1",
        **env,
    }
    done = subprocess.run(["bash", str(PUSH)], capture_output=True, text=True, env=full, timeout=60)
    return done, comment.read_text() if comment.exists() else ""


def branch_log(remote: dict[str, Path]) -> list[str]:
    return git(remote["origin"], "log", "--format=%s", BRANCH).splitlines()


def test_the_patch_becomes_one_commit_on_the_same_branch(remote):
    done, comment = push(remote)
    assert done.returncode == 0, done.stderr
    assert branch_log(remote) == [
        f"cloudagent: run {NEW} (continues {PARENT})",
        f"cloudagent: run {PARENT}",
    ]
    assert git(remote["origin"], "for-each-ref", "--format=%(refname)") == f"refs/heads/{BRANCH}"
    assert "text.strip()" in git(remote["origin"], "show", f"{BRANCH}:dates.py")
    first, _, rest = comment.partition("\n")
    assert first.startswith(f"Run `{NEW}` (continues `{PARENT}`): pushed ")
    assert f"onto `{BRANCH}`." in first and f"**Run** `{NEW}` — STOPPED" in rest


def test_a_branch_that_moved_elsewhere_gets_the_commit_on_its_new_head(remote):
    """Someone pushed to the branch after the checkout: the push is refused, never forced, and
    the patch goes onto the new head when it still applies there."""
    other = remote["root"] / "other"
    git(remote["root"], "clone", "--quiet", "--branch", BRANCH, str(remote["origin"]), str(other))
    (other / "README.md").write_text("dates, with ISO weeks\n")
    git(other, "commit", "--quiet", "-am", "Document it")
    git(other, "push", "--quiet", "origin", BRANCH)
    done, comment = push(remote)
    assert done.returncode == 0, done.stderr
    assert branch_log(remote)[:2] == [
        f"cloudagent: run {NEW} (continues {PARENT})",
        "Document it",
    ]
    assert "pushed" in comment


@pytest.mark.parametrize("checked_out", ["before", "after"])
def test_a_branch_that_changed_the_same_lines_gets_nothing_and_says_so(remote, checked_out):
    """Changed after the checkout (the retry on the new head fails) or before it (the first
    apply fails): either way nothing is pushed, and the comment says why."""
    other = remote["root"] / "other"
    git(remote["root"], "clone", "--quiet", "--branch", BRANCH, str(remote["origin"]), str(other))
    (other / "dates.py").write_text("def parse(text):\n    return text.lower()\n")
    git(other, "commit", "--quiet", "-am", "Lower-case it")
    git(other, "push", "--quiet", "origin", BRANCH)
    before = branch_log(remote)
    if checked_out == "after":
        git(remote["work"], "pull", "--quiet", "--ff-only")
    done, comment = push(remote)
    assert done.returncode == 1
    assert branch_log(remote) == before
    first = comment.splitlines()[0]
    assert "its patch does not apply on" in first and "nothing was pushed" in first


def test_a_run_without_a_change_pushes_nothing(remote):
    (remote["artifact"] / "change.patch").unlink()
    done, comment = push(remote)
    assert done.returncode == 0 and branch_log(remote) == [f"cloudagent: run {PARENT}"]
    assert comment.startswith(f"Run `{NEW}` (continues `{PARENT}`): no change to push")


def test_the_run_is_named_by_its_artifact_not_the_called_workflows_outputs(remote):
    """A failed called workflow's outputs may come back empty; its artifact still names it."""
    done, comment = push(remote, RUN_ID="")
    assert comment.startswith(f"Run `{NEW}`")
    assert done.returncode == 0, done.stderr
    assert branch_log(remote)[0] == f"cloudagent: run {NEW} (continues {PARENT})"


def test_a_run_that_did_not_start_is_reported_with_the_apis_reason(remote):
    reason = f"POST /v1/runs: 409 run {PARENT} already has a continuation running"
    shutil.rmtree(remote["artifact"])
    done, comment = push(remote, RUN_ID="", START_ERROR=reason)
    assert done.returncode == 1 and branch_log(remote) == [f"cloudagent: run {PARENT}"]
    assert comment.startswith(f"Could not continue run `{PARENT}`: {reason}.")


def test_a_run_without_a_scanned_result_pushes_nothing(remote):
    shutil.rmtree(remote["artifact"])
    done, comment = push(remote)
    assert done.returncode == 1 and branch_log(remote) == [f"cloudagent: run {PARENT}"]
    assert "ended without a scanned result" in comment


@pytest.mark.parametrize(
    "env",
    [
        {"RUN_ID": "run_bad", "ARTIFACT_RUN_ID": "run_bad"},
        {"PARENT_RUN_ID": "run_bad"},
        {"BRANCH": "main"},
        {"BRANCH": f"cloudagent/{PARENT}\nmain"},
    ],
    ids=["run-id", "parent-id", "other-branch", "newline"],
)
def test_unexpected_ids_or_branches_push_nothing(remote, env):
    done, comment = push(remote, **env)
    assert done.returncode == 1 and branch_log(remote) == [f"cloudagent: run {PARENT}"]
    assert comment.startswith("continue-run: unexpected")


def test_a_refused_push_on_an_unmoved_branch_is_not_retried(remote):
    """GitHub refuses e.g. a change to .github/workflows from this token: say so, do not loop."""
    hook = remote["origin"] / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\necho 'refusing to allow a GitHub App to update a workflow' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    done, comment = push(remote)
    assert done.returncode == 1 and branch_log(remote) == [f"cloudagent: run {PARENT}"]
    assert "was refused (the branch had not moved;" in comment.splitlines()[0]
    assert done.stderr.count("refusing to allow") == 1  # one attempt, its reason in the log
