"""`make up` on the embedded AWS, then the whole platform end to end, then `make down`.

One deployment for the whole module - the same code `make up` runs (`devtools.local.up`): moto
server on 127.0.0.1, foundation -> agent -> api applied in order, each with its own S3 state,
the API served locally with the development issuer and the CloudFront stand-in. Tests run in
file order against it:

1. the embedded-AWS checks: each stack's resources and state, the cross-stack wiring;
2. end to end, with agents run for real by `make up`'s local task runner against the local
   fake model - in the agent image wherever buildah can build it (the fixture builds it first,
   as `make image` would; a machine without buildah runs the entrypoint on the host and the
   image check is skipped, which fails under CI=true): health (through the edge; the direct
   port refused) -> POST /v1/runs -> STARTING -> RUNNING (events readable meanwhile) ->
   STOPPED exit 0 with its result; two runs and three sessions at once, the cap's 429, a stop
   through the API ending 143 within the grace period; idempotency; a run on a local
   repository leaving a patch;
3. independent roll-forward of `agent` alone; destroy api and agent without touching
   foundation; `make down` stops the agents still running (143), destroys the rest and leaves
   nothing running.

An apply costs tens of seconds, so there is exactly one `up` and one `down`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import image as image_build
from devtools import run as run_command
from devtools.deploy import LocalDeployment
from devtools.drill import burst, events, kills, soak
from devtools.drill.context import DrillContext
from devtools.local import agents, processes
from devtools.local.down import DownResult, destroy_stack, down
from devtools.local.lambdas import deliver, invoke
from devtools.local.oidc import DEV_SUBJECT
from devtools.local.paths import LocalPaths
from devtools.local.runner import ecs_events
from devtools.local.runner.loop import MARKER as RUNNER_MARKER
from devtools.local.session import MOTO_MARKER, SERVE_MARKER
from devtools.local.up import (
    UpResult,
    ensure_moto,
    ensure_server,
    up,
)
from devtools.plan_only import PLAN_ONLY_TYPES
from devtools.synth import synthesize
from stacks.shared.constants import GITHUB_OIDC_ISSUER, PROVIDER_KEY_ENV, PROVIDERS
from tests.e2e import continuation, no_secret
from tests.e2e.flow import MODEL, all_events, bare_repository, call, wait_for
from tests.support.image_skips import IMAGE_SKIP
from tests.support.synthesized import STATE_BUCKET

CONTROL_FUNCTIONS = ("api", "task-state", "reaper", "admin")
# Why the image cannot be built and run here (no buildah, not root), or None.
NO_IMAGE = image_build.available()


@pytest.fixture(scope="module")
def local(synth_s3: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpResult]:
    """`make up` into a temporary `.local/` (a developer's own `make up` is never touched).

    Where the image can be built, it is built (or found current) first, so the runner runs
    every task of this module in it - what `make image && make up` gives a developer.
    """
    if NO_IMAGE is None:
        image_build.ensure_image()
    paths = LocalPaths(tmp_path_factory.mktemp("local"))
    lines: list[str] = []
    result = up(paths, synth_dir=synth_s3, bucket=STATE_BUCKET, out=lines.append)
    result.lines = lines  # type: ignore[attr-defined]
    yield result
    down(paths, out=lambda line: None)  # a no-op when the last test already ran `make down`


@pytest.fixture(scope="module")
def deployment(local: UpResult) -> LocalDeployment:
    return local.deployment


@pytest.fixture(scope="module")
def token(local: UpResult) -> str:
    return local.token()


# -- 1. the stacks on the embedded AWS ----------------------------------------------------------


def test_up_applies_foundation_agent_api_in_order_each_with_its_own_s3_state(
    local: UpResult, deployment: LocalDeployment
) -> None:
    assert [s.stack for s in local.stacks] == ["foundation", "agent", "api"]
    progress = [line.split()[0] for line in local.lines if "init + apply" in line]
    assert progress == ["foundation", "agent", "api"]
    keys = {
        o["Key"] for o in deployment.client("s3").list_objects_v2(Bucket=STATE_BUCKET)["Contents"]
    }
    for stack in ("foundation", "agent", "api"):
        assert f"cloudagent/dev/{stack}.tfstate" in keys
        assert deployment.state(stack)["serial"] >= 1
    # Only the DNS Firewall and the Resolver query log are planned instead of applied (moto
    # has no firewall API and cannot delete a query-log config); everything else exists.
    foundation, agent, api = local.stacks
    assert not agent.planned_only
    # The artifact bucket's TLS-only policy: make up reaches moto over plain HTTP.
    assert sorted(a.split(".")[0] for a in api.planned_only) == ["aws_s3_bucket_policy"]
    kinds = sorted({address.split(".")[0] for address in foundation.planned_only})
    assert kinds == sorted(PLAN_ONLY_TYPES["foundation"])
    assert all(why.startswith("moto 5.2 ") for why in foundation.planned_only.values())
    assert any(
        line.startswith(f"  plan-only     foundation: {len(foundation.planned_only)} (moto 5.2")
        for line in local.lines
    )
    applied = {r["type"] for r in deployment.state("foundation")["resources"]}
    assert not applied & set(kinds)


def test_foundation_resources_exist(deployment: LocalDeployment) -> None:
    table = deployment.client("dynamodb").describe_table(TableName="cloudagent-dev")["Table"]
    assert table["DeletionProtectionEnabled"] is True
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by_time"
    names = {s["Name"] for s in deployment.client("secretsmanager").list_secrets()["SecretList"]}
    assert {f"cloudagent-dev/provider/{p}" for p in PROVIDERS} <= names
    [cluster] = deployment.client("ecs").describe_clusters(clusters=["cloudagent-dev"])["clusters"]
    assert {"name": "containerInsights", "value": "enhanced"} in cluster["settings"]
    vpcs = deployment.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": ["cloudagent-dev"]}]
    )
    assert len(vpcs["Vpcs"]) == 1
    outputs = deployment.terraform("foundation").output()
    assert outputs["table_name"]["value"] == "cloudagent-dev"
    # network_mode public (the default): tasks run in the public subnets.
    assert outputs["task_subnet_ids"]["value"] == outputs["public_subnet_ids"]["value"]
    assert len(outputs["task_subnet_ids"]["value"]) == 2
    # The DNS Firewall's query log group is applied (only the firewall itself is plan-only).
    groups = deployment.client("logs").describe_log_groups(
        logGroupNamePrefix=outputs["dns_query_log_group_name"]["value"]
    )["logGroups"]
    assert [g["retentionInDays"] for g in groups] == [14]


def test_agent_applied_reading_foundation_through_remote_state(
    deployment: LocalDeployment,
) -> None:
    outputs = deployment.terraform("agent").output()
    ecs = deployment.client("ecs")
    arns = outputs["task_definition_arns"]["value"]
    assert set(arns) == set(PROVIDERS)
    for provider, arn in arns.items():
        definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        assert (definition["cpu"], definition["memory"]) == ("16384", "122880")
        containers = {c["name"]: c for c in definition["containerDefinitions"]}
        assert set(containers) == {"model-proxy", "agent"}
        assert all(c["image"].endswith("cloudagent-dev-agent:latest") for c in containers.values())
        # The agent holds no secret; the proxy holds this provider's key and no other.
        assert "secrets" not in containers["agent"]
        [secret] = containers["model-proxy"]["secrets"]
        assert secret["name"] == PROVIDER_KEY_ENV[provider]
        assert ":secretsmanager:" in secret["valueFrom"]
        assert containers["agent"]["dependsOn"] == [
            {"containerName": "model-proxy", "condition": "START"}
        ]


def test_agent_task_definition_runs_on_the_cluster(deployment: LocalDeployment) -> None:
    """What the control API will do: RunTask in the task subnets with the tasks group."""
    foundation = deployment.terraform("foundation").output()
    agent = deployment.terraform("agent").output()
    response = deployment.client("ecs").run_task(
        cluster=foundation["cluster_arn"]["value"],
        taskDefinition=agent["task_definition_arns"]["value"]["openai"],
        launchType="FARGATE",
        startedBy="test-run",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": foundation["task_subnet_ids"]["value"],
                "securityGroups": [agent["security_group_id"]["value"]],
                "assignPublicIp": "ENABLED",
            }
        },
        overrides={
            "containerOverrides": [
                {
                    "name": agent["container_name"]["value"],
                    "environment": [{"name": "JOB_PROMPT", "value": "hi"}],
                }
            ]
        },
    )
    assert response["failures"] == []
    assert len(response["tasks"]) == 1


def test_api_applied_after_foundation_and_agent(deployment: LocalDeployment) -> None:
    outputs = deployment.terraform("api").output()
    lambdas = deployment.client("lambda")
    config = lambdas.get_function_configuration(FunctionName="cloudagent-dev-api")
    variables = config["Environment"]["Variables"]
    agent = deployment.terraform("agent").output()
    # Each family's ARN without the revision: RunTask takes the latest ACTIVE revision.
    assert json.loads(variables["TASK_DEFINITION_ARNS"]) == {
        p: arn.rsplit(":", 1)[0] for p, arn in agent["task_definition_arns"]["value"].items()
    }
    # Runs with a repository start the -repo family: repo-init clones before the agent exists.
    repo_families = json.loads(variables["REPO_TASK_DEFINITION_ARNS"])
    assert set(repo_families) == set(PROVIDERS)
    definition = deployment.client("ecs").describe_task_definition(
        taskDefinition=repo_families["openai"]
    )["taskDefinition"]
    containers = {c["name"]: c for c in definition["containerDefinitions"]}
    assert set(containers) == {"repo-init", "model-proxy", "agent"}
    assert containers["repo-init"]["essential"] is False
    assert {"containerName": "repo-init", "condition": "SUCCESS"} in containers["agent"][
        "dependsOn"
    ]
    assert "secrets" not in containers["agent"]
    assert "ORIGIN_VERIFY" not in variables
    assert variables["SECURITY_GROUP_IDS"] == agent["security_group_id"]["value"]
    rest_id = outputs["execute_api_domain"]["value"].split(".")[0]
    paths = {
        r["path"] for r in deployment.client("apigateway").get_resources(restApiId=rest_id)["items"]
    }
    assert {"/v1/health", "/v1/runs", "/v1/runs/{run_id}/stop", "/v1/sessions"} <= paths
    [distribution] = deployment.client("cloudfront").list_distributions()["DistributionList"][
        "Items"
    ]
    assert distribution["WebACLId"] == outputs["web_acl_arn"]["value"]


def test_deployed_functions_trust_only_github_and_only_the_local_server_differs(
    local: UpResult, deployment: LocalDeployment
) -> None:
    """The development issuer lives in the local server's environment, never in AWS."""
    lambdas = deployment.client("lambda")
    for suffix in CONTROL_FUNCTIONS:
        name = f"cloudagent-dev-{suffix}"
        variables = lambdas.get_function_configuration(FunctionName=name)["Environment"][
            "Variables"
        ]
        assert variables["OIDC_ISSUER"] == GITHUB_OIDC_ISSUER, name
        assert variables["OIDC_JWKS_URL"] == f"{GITHUB_OIDC_ISSUER}/.well-known/jwks", name
        assert variables["OIDC_ALLOWED_SUBJECTS"] == (
            "repo:org/cloudagent:environment:dev:job_workflow_ref:"
            "org/cloudagent/.github/workflows/run-agent.yml@refs/heads/main"
        ), name
    served = json.loads(local.paths.serve_config.read_text())["app_env"]
    deployed = lambdas.get_function_configuration(FunctionName=local.api_function)["Environment"][
        "Variables"
    ]
    differing = {k for k in deployed if served.get(k) != deployed[k]}
    # OIDC_REF is the same refs/heads/main on the defaults; the workflow names another repository.
    assert differing == {
        "OIDC_ISSUER",
        "OIDC_JWKS_URL",
        "OIDC_ALLOWED_SUBJECTS",
        "OIDC_JOB_WORKFLOW_REFS",
    }
    assert served["OIDC_ISSUER"] == local.issuer_url
    assert served["OIDC_ALLOWED_SUBJECTS"] == DEV_SUBJECT


# -- 2. end to end through the API ---------------------------------------------------------------


def test_health_through_the_edge_and_the_direct_port_refused(local: UpResult) -> None:
    health = call("GET", f"{local.api_url}/v1/health")
    assert health.status == 200
    assert health.body == {"status": "ok", "version": "0.1.0", "stage": "dev"}
    direct = call("GET", f"{local.direct_url}/v1/health")
    assert direct.status == 403
    assert direct.body["error"]["code"] == "forbidden"
    # A GitHub-shaped token from any other issuer is refused, as is no token.
    assert call("GET", f"{local.api_url}/v1/runs").status == 401


class Run:
    """What the end-to-end steps learn about the run that goes all the way through."""

    run_id: str
    task: dict


def _post(local: UpResult, token: str, prompt: str, **extra: object) -> str:
    body = {"prompt": prompt, "provider": "openai", "model": MODEL, **extra}
    created = call("POST", f"{local.api_url}/v1/runs", token=token, body=body)
    assert created.status == 202, created.body
    return created.body["run_id"]


def test_a_run_goes_starting_running_stopped_with_its_result(
    local: UpResult, deployment: LocalDeployment, token: str
) -> None:
    """POST /v1/runs -> the runner runs the task ECS recorded -> RUNNING, events, STOPPED 0."""
    prompt = "run: sleep 3 && echo slept"  # long enough to read events while it runs
    created = call(
        "POST",
        f"{local.api_url}/v1/runs",
        token=token,
        body={"prompt": prompt, "provider": "openai", "model": MODEL},
    )
    assert created.status == 202, created.body
    assert created.body["status"] == "STARTING"
    Run.run_id = run_id = created.body["run_id"]
    item = deployment.client("dynamodb").get_item(
        TableName="cloudagent-dev", Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}
    )["Item"]
    assert item["prompt"]["S"] == prompt
    assert item["created_by"]["S"] == DEV_SUBJECT
    [task] = deployment.client("ecs").describe_tasks(
        cluster="cloudagent-dev", tasks=[item["task_arn"]["S"]]
    )["tasks"]
    overrides = {
        o["name"]: {e["name"]: e["value"] for e in o.get("environment") or []}
        for o in task["overrides"]["containerOverrides"]
    }
    assert set(overrides) == {"agent", "model-proxy"}
    assert (overrides["agent"]["JOB_PROMPT"], overrides["agent"]["RUN_ID"]) == (prompt, run_id)
    assert overrides["model-proxy"]["RUN_ID"] == run_id
    assert float(overrides["model-proxy"]["MODEL_PROXY_MAX_COST_USD"]) > 0
    Run.task = task

    running = wait_for(local.api_url, token, run_id, {"RUNNING", "STOPPED"})
    assert running["status"] == "RUNNING", running  # the sleep keeps it there for 2 s
    # RUNNING is reported when the container starts; its first line follows (later in the
    # image, where buildah sets the container up first), so read until one is there.
    deadline = time.monotonic() + 10
    while not (events := _events_page(local, token, run_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert events, "events are readable while the run is going"
    assert events[0]["data"]["type"] == "runtime_start"
    run_now = call("GET", f"{local.api_url}/v1/runs/{run_id}", token=token).body
    assert run_now["status"] == "RUNNING", "the events were read before the run ended"

    run = wait_for(local.api_url, token, run_id, {"STOPPED"})
    assert run["exit_code"] == 0, run
    assert run["stopped_reason"] == "Essential container in task exited"
    assert run["stop_code"] == "EssentialContainerExited"
    assert run["started_at"] and run["stopped_at"]
    result = run["result"]
    assert "slept" in result["final_message"]
    assert result["usage"]["input_tokens"] == 200 and result["usage"]["output_tokens"] == 60
    assert result["tool_calls"] == 1 and result["patch"] is None
    events = all_events(local.api_url, token, run_id)
    assert events[-1]["data"]["type"] == "runtime_end"
    assert all(e["data"]["run_id"] == run_id for e in events)
    # The runner's events carry the task's ENI like ECS's: the API recorded its address (the
    # key to the run's DNS queries), and the blocked-name fields are set (null without a log).
    stored = deployment.client("dynamodb").get_item(
        TableName="cloudagent-dev", Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}
    )["Item"]
    [eni] = task["attachments"]
    address = {d["name"]: d["value"] for d in eni["details"]}["privateIPv4Address"]
    assert stored["private_ip"]["S"] == address
    assert "blocked_domains" in run and "blocked_domains_error" in run


def _events_page(local: UpResult, token: str, run_id: str) -> list[dict]:
    return call("GET", f"{local.api_url}/v1/runs/{run_id}/events", token=token).body["events"]


def test_a_redelivered_stopped_event_changes_nothing(local: UpResult) -> None:
    """EventBridge is at-least-once: the same STOPPED again releases no slot twice."""
    event = ecs_events.stopped_event(
        Run.task,
        "agent",
        exit_code=0,
        stop_code=ecs_events.ESSENTIAL_CONTAINER_EXITED,
        reason=ecs_events.EXITED_REASON,
        started=None,
    )
    [again] = deliver(local.aws, event)
    assert again["rule"] == again["function"] == "cloudagent-dev-task-state"
    assert again["result"]["released_slot"] is False


class Busy:
    """Runs and sessions left running for `make down` to stop."""

    run_id: str


def test_runs_at_once_the_cap_a_session_and_a_stop_within_the_grace(
    local: UpResult, deployment: LocalDeployment, token: str
) -> None:
    runs = f"{local.api_url}/v1/runs"
    first = _post(local, token, "run: sleep 120")
    second = _post(local, token, "run: sleep 900")  # outlives the tests: `make down` stops it
    sessions = []
    for _ in range(3):  # the cap (5) with the two runs; sessions run the entrypoint idle
        created = call("POST", f"{local.api_url}/v1/sessions", token=token, body={})
        assert created.status == 202, created.body
        assert created.body["exec_command"].startswith("aws ecs execute-command")
        sessions.append(created.body["run_id"])
    refused = call(
        "POST", runs, token=token, body={"prompt": "hi", "provider": "openai", "model": MODEL}
    )
    assert refused.status == 429
    assert refused.body["error"]["code"] == "concurrency_limit"
    for run_id in (first, second, *sessions):  # all of them at once
        assert wait_for(local.api_url, token, run_id, {"RUNNING"}, 90)["status"] == "RUNNING"
    assert any("devtools.local.shell RUN_ID" in line for line in local.lines)
    workspace = [
        p for p in (local.paths.root / "tasks").glob("*/run_id") if p.read_text() == sessions[0]
    ]
    assert len(workspace) == 1  # where `python -m devtools.local.shell` opens its shell

    began = time.monotonic()
    stopped = call("POST", f"{runs}/{first}/stop", token=token)
    assert stopped.status == 202 and stopped.body["status"] == "STOPPING"
    run = wait_for(local.api_url, token, first, {"STOPPED"}, 40)
    assert time.monotonic() - began < 30  # the grace period (stopTimeout)
    assert run["exit_code"] == 143
    assert run["stop_code"] == "UserInitiated"
    assert DEV_SUBJECT in run["stopped_reason"]
    assert run["result"]["tool_calls"] == 1  # the result is written on a stop too

    assert call("POST", f"{local.api_url}/v1/runs/{sessions[0]}/stop", token=token).status == 202
    session = wait_for(local.api_url, token, sessions[0], {"STOPPED"}, 40)
    assert session["exit_code"] == 0  # an interactive task ends 0 on SIGTERM
    Busy.run_id = second  # still running: `make down` stops it


def test_idempotency(local: UpResult, deployment: LocalDeployment, token: str) -> None:
    runs = f"{local.api_url}/v1/runs"
    body = {"prompt": "hello", "provider": "openai", "model": MODEL}
    key = {"Idempotency-Key": "e2e-key-1"}
    first = call("POST", runs, token=token, body=body, headers=key)
    second = call("POST", runs, token=token, body=body, headers=key)
    assert first.status == second.status == 202
    assert second.body["run_id"] == first.body["run_id"]
    assert second.headers.get("idempotent-replayed") == "true"
    ecs = deployment.client("ecs")
    tasks = ecs.list_tasks(cluster="cloudagent-dev", startedBy=first.body["run_id"])["taskArns"]
    assert len(tasks) == 1
    assert wait_for(local.api_url, token, first.body["run_id"], {"STOPPED"})["exit_code"] == 0


def test_a_run_on_a_local_repository_leaves_a_patch(local: UpResult, token: str) -> None:
    """`repo` in ALLOWED_REPOS -> https://github.com/... -> the runner's bare repository."""
    bare = local.paths.root / "repos" / "org" / "cloudagent.git"
    base = bare_repository(bare, {"README.md": "local repository\n"})
    run_id = _post(local, token, "run: echo hi >> README.md", repo="org/cloudagent")
    run = wait_for(local.api_url, token, run_id, {"STOPPED"})
    assert run["exit_code"] == 0, run
    patch = run["result"]["patch"]
    assert (patch["base_commit"], patch["files_changed"], patch["insertions"]) == (base, 1, 1)
    text = call("GET", f"{local.api_url}/v1/runs/{run_id}/patch", token=token)
    assert text.status == 200 and text.headers["content-type"].startswith("text/x-diff")
    assert "+++ b/README.md" in text.body and "\n+hi\n" in text.body


def test_the_readme_run_command_prints_the_result_and_saves_the_patch(
    local: UpResult, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The five-minute path's `python -m devtools.run --repo ...`: exit code, answer, patch."""
    monkeypatch.setenv("CLOUDAGENT_LOCAL_DIR", str(local.paths.root))
    code = run_command.main(["--repo", "org/cloudagent", "run: echo hi > hello.txt"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "STOPPED, exit code 0" in err and "hello.txt" in out
    [saved] = (local.paths.root / "patches").glob("run_*.diff")
    assert f"saved to {saved}" in err
    assert "+++ b/hello.txt" in saved.read_text() and "\n+hi\n" in saved.read_text()


@pytest.mark.skipif(NO_IMAGE is not None, reason=f"image tests skipped: {NO_IMAGE}")
def test_runs_went_through_the_image(local: UpResult) -> None:
    """`make up` chose the image `make image` built, said so, and the runs above ran in it.

    (The local repository run above is the image's real run: exit 0, result, patch.)
    """
    assert local.runner is not None
    assert (local.runner.mode, local.runner.why) == (
        "image",
        image_build.IMAGE_TAG + ", built from today's image/",
    )
    assert any("runs tasks in the image" in line for line in local.lines)  # type: ignore[attr-defined]
    runner_log = local.paths.log_file("runner").read_text()
    assert "runner: mode image" in runner_log
    task_dirs = list((local.paths.root / "tasks").glob("*/run_id"))
    # Each container ran from its own environment file, in its own directory.
    assert task_dirs and all((d.parent / "run" / "agent" / "env.sh").exists() for d in task_dirs)
    assert all(
        (d.parent / "run" / "model-proxy" / "env.sh").stat().st_uid == 1001 for d in task_dirs
    )


def test_cold_start_does_not_hang(local: UpResult) -> None:
    """A cold process's first AWS call (boto3 session created on demand) must return."""
    invoke(local.aws, "cloudagent-dev-reaper", {}, timeout=30)


def test_a_second_up_starts_nothing_twice(local: UpResult) -> None:
    """`make up` again finds moto and the API server by pid and reuses them.

    (The Terraform half of a second `make up` is a re-apply: measured in BENCHMARKS.md,
    not repeated here - it would cost every `make test` ~25 s.)
    """
    state = local.paths.load_state()
    moto, started = ensure_moto(local.paths, state, lambda line: None)
    assert (moto.port, started) == (state["moto_port"], False)
    config = json.loads(local.paths.serve_config.read_text())
    pid, started = ensure_server(local.paths, state, config, lambda line: None)
    assert (pid, started) == (local.server_pid, False)
    runner = agents.ensure_runner(local.paths, state, local.aws)
    assert local.runner is not None
    assert (runner.pid, runner.started) == (local.runner.pid, False)


# -- 2b. the agent holds no secret; the spend cap stops a run (tests/e2e/no_secret.py) ----------

IN_IMAGE_ONLY = pytest.mark.skipif(
    NO_IMAGE is not None,
    reason=f"{IMAGE_SKIP}: {NO_IMAGE} (on the host the agent is not isolated from the proxy)",
)


@IN_IMAGE_ONLY
def test_a_planted_key_is_nowhere_the_agent_can_reach(local: UpResult, token: str) -> None:
    assert local.runner is not None and local.runner.mode == "image", local.runner
    no_secret.planted_key_is_nowhere_the_agent_can_reach(local, token)


@IN_IMAGE_ONLY
def test_a_tiny_budget_ends_the_run_with_its_result(local: UpResult, token: str) -> None:
    no_secret.tiny_budget_ends_the_run_with_its_result(local, token)


# -- 2c. a run continued where it stopped, with its conversation (tests/e2e/continuation.py) ---


@pytest.fixture(scope="module")
def continued_run(local: UpResult, token: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return continuation.run_continues_with_its_conversation(
        local, token, tmp_path_factory.mktemp("continuation")
    )


def test_a_run_continues_where_it_stopped_with_its_conversation(continued_run: str) -> None:
    assert continued_run.startswith("run_")


def test_the_readme_continue_command_extends_the_chain(
    local: UpResult,
    continued_run: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    continuation.readme_continue_command_extends_the_chain(
        local, continued_run, monkeypatch, capsys
    )


# -- 2d. reliability drills, short forms (devtools/drill; the long forms run in `make drill`) --
# Each drill first stops every run that holds a slot, so it measures the whole cap; the kills
# drill restarts the API server and the task runner, so these come after every test that
# relies on a process `make up` started.


@pytest.mark.parametrize(
    "drill",
    [
        pytest.param(burst.run, id="burst"),
        pytest.param(burst.run_idempotency, id="idempotency"),
        pytest.param(events.run, id="events"),
        pytest.param(kills.run, id="kills"),
        pytest.param(soak.run, id="soak"),
    ],
)
def test_drill_short_form_loses_nothing(local: UpResult, drill: Callable[..., Any]) -> None:
    """Nothing lost and every slot returned: the figures go to BENCHMARKS.md via make drill."""
    report = drill(DrillContext.from_up(local), short=True)
    assert report.passed, report.problems


def test_a_run_left_running_for_make_down(local: UpResult, token: str) -> None:
    """The drills stopped every run; `make down` must find one running to stop (143)."""
    run_id = _post(local, token, "run: sleep 600")
    assert wait_for(local.api_url, token, run_id, {"RUNNING"}, timeout=120)["status"] == "RUNNING"


# -- 3. roll forward one stack, tear down ------------------------------------------------------


def test_agent_rolls_forward_alone(deployment: LocalDeployment, tmp_path_factory) -> None:
    """Re-apply only `agent` with a changed setting: the other two states do not move."""
    serials = {name: deployment.state(name)["serial"] for name in ("foundation", "api", "agent")}
    changed = tmp_path_factory.mktemp("synth-v2")
    synthesize(
        changed, {"CLOUDAGENT_STATE_BUCKET": STATE_BUCKET, "CLOUDAGENT_AGENT_IMAGE_TAG": "v2"}
    )
    original = deployment.synth_dir
    deployment.synth_dir = changed
    try:
        deployment.apply("agent")
    finally:
        deployment.synth_dir = original
    assert deployment.state("foundation")["serial"] == serials["foundation"]
    assert deployment.state("api")["serial"] == serials["api"]
    assert deployment.state("agent")["serial"] > serials["agent"]
    arn = deployment.terraform("agent").output()["task_definition_arns"]["value"]["openai"]
    definition = deployment.client("ecs").describe_task_definition(taskDefinition=arn)
    images = [c["image"] for c in definition["taskDefinition"]["containerDefinitions"]]
    assert images and all(image.endswith(":v2") for image in images)
    # The API, not re-applied, starts the new revision: it names the family, not a revision.
    api_env = deployment.client("lambda").get_function_configuration(
        FunctionName="cloudagent-dev-api"
    )["Environment"]["Variables"]
    started = deployment.client("ecs").run_task(
        cluster=api_env["CLUSTER_ARN"],
        taskDefinition=json.loads(api_env["TASK_DEFINITION_ARNS"])["openai"],
        launchType="FARGATE",
        startedBy="rolled-forward",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": api_env["SUBNET_IDS"].split(","),
                "securityGroups": api_env["SECURITY_GROUP_IDS"].split(","),
                "assignPublicIp": "DISABLED",
            }
        },
    )
    assert started["failures"] == []
    assert started["tasks"][0]["taskDefinitionArn"] == arn
    deployment.client("ecs").stop_task(
        cluster=api_env["CLUSTER_ARN"], task=started["tasks"][0]["taskArn"], reason="test"
    )


def test_api_and_agent_destroy_without_touching_foundation(deployment: LocalDeployment) -> None:
    serial = deployment.state("foundation")["serial"]
    destroy_stack(deployment, "api")  # what `make down` runs for each stack
    destroy_stack(deployment, "agent")
    assert deployment.state("api")["resources"] == []
    assert deployment.state("agent")["resources"] == []
    assert deployment.state("foundation")["serial"] == serial


def test_down_destroys_foundation_and_leaves_nothing_running(local: UpResult) -> None:
    seen: dict = {}

    def inspect(deployment: LocalDeployment) -> None:
        seen["tables"] = deployment.client("dynamodb").list_tables()["TableNames"]
        seen["clusters"] = deployment.client("ecs").describe_clusters(clusters=["cloudagent-dev"])[
            "clusters"
        ]
        seen["vpcs"] = deployment.client("ec2").describe_vpcs(
            Filters=[{"Name": "tag:Name", "Values": ["cloudagent-dev"]}]
        )["Vpcs"]
        seen["state"] = deployment.state("foundation")

    state = local.paths.load_state()
    result: DownResult = down(local.paths, out=lambda line: None, inspect=inspect)
    assert result.errors == []
    assert list(result.destroyed) == ["foundation"]
    assert result.skipped == ["api", "agent"]
    assert result.stopped_tasks >= 1  # the agent tasks still running were stopped first
    assert seen["tables"] == []
    assert all(c["status"] == "INACTIVE" for c in seen["clusters"])
    assert seen["vpcs"] == []
    assert seen["state"].get("resources") == []
    # Nothing left: processes, ports, pid files, state.
    assert sorted(result.stopped) == ["API server", "moto server", "task runner"]
    runner_log = (local.paths.root / "runner.log").read_text()
    busy = [line for line in runner_log.splitlines() if "exited" in line and "make down" in line]
    assert any("exited 143" in line for line in busy), runner_log[-3000:]
    assert not processes.alive(local.moto_pid, MOTO_MARKER)
    assert not processes.alive(local.server_pid, SERVE_MARKER)
    ports = [state["moto_port"], *state["ports"].values()]
    assert not [p for p in ports if processes.port_open(p)]
    assert not processes.alive(local.runner.pid, RUNNER_MARKER)  # type: ignore[union-attr]
    left = sorted(p.name for p in local.paths.root.iterdir())
    assert left == ["moto.log", "patches", "runner.log", "server.log"]  # logs and saved patches
