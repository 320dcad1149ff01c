"""`make up` on the embedded AWS, then the whole platform end to end, then `make down`.

One deployment for the whole module - the same code `make up` runs (`devtools.local.up`): moto
server on 127.0.0.1, foundation -> agent -> api applied in order, each with its own S3 state,
the API served locally with the development issuer and the CloudFront stand-in. Tests run in
file order against it:

1. the embedded-AWS checks: each stack's resources and state, the cross-stack wiring;
2. the end-to-end run: health (through the edge; the direct port refused) -> POST /v1/runs with a
   development token -> the run record and the ECS task with the prompt in its overrides -> the
   agent entrypoint executed locally with the environment ECS recorded, against the fake model
   -> the ECS Task State Change event delivered through the deployed EventBridge rule to the
   deployed task_state function -> GET shows STOPPED with that exit code; then stop,
   idempotency and the concurrency cap once each;
3. independent roll-forward of `agent` alone; destroy api and agent without touching
   foundation; `make down` destroys the rest and leaves nothing running.

An apply costs tens of seconds, so there is exactly one `up` and one `down`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.deploy import LocalDeployment
from devtools.local import processes
from devtools.local.down import DownResult, destroy_stack, down
from devtools.local.lambdas import deliver, invoke
from devtools.local.oidc import DEV_SUBJECT
from devtools.local.paths import LocalPaths
from devtools.local.session import MOTO_MARKER, SERVE_MARKER
from devtools.local.up import (
    UpResult,
    ensure_moto,
    ensure_server,
    up,
)
from devtools.synth import synthesize
from stacks.shared.constants import GITHUB_OIDC_ISSUER, PROVIDER_KEY_ENV, PROVIDERS
from tests.e2e.flow import (
    MODEL,
    FakeOpenAI,
    call,
    container_environment,
    run_container,
    stopped_event,
)
from tests.support.synthesized import STATE_BUCKET

PROMPT = "@notes.txt -- summarise the repository in one line"  # argv would break on both
CONTROL_FUNCTIONS = ("api", "task-state", "reaper", "admin")


@pytest.fixture(scope="module")
def local(synth_s3: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpResult]:
    """`make up` into a temporary `.local/` (a developer's own `make up` is never touched)."""
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


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


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
    # Nothing had to be planned instead of applied: every resource exists on moto.
    assert all(not s.planned_only for s in local.stacks)
    assert any("plan-only     none" in line for line in local.lines)


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
    assert len(outputs["private_subnet_ids"]["value"]) == 2


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
        [container] = definition["containerDefinitions"]
        assert container["image"].endswith("cloudagent-dev-agent:latest")
        # Only this provider's key: a task never holds another provider's.
        [secret] = container["secrets"]
        assert secret["name"] == PROVIDER_KEY_ENV[provider]
        assert ":secretsmanager:" in secret["valueFrom"]


def test_agent_task_definition_runs_on_the_cluster(deployment: LocalDeployment) -> None:
    """What the control API will do: RunTask in the private subnets with the tasks group."""
    foundation = deployment.terraform("foundation").output()
    agent = deployment.terraform("agent").output()
    response = deployment.client("ecs").run_task(
        cluster=foundation["cluster_arn"]["value"],
        taskDefinition=agent["task_definition_arns"]["value"]["openai"],
        launchType="FARGATE",
        startedBy="test-run",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": foundation["private_subnet_ids"]["value"],
                "securityGroups": [agent["security_group_id"]["value"]],
                "assignPublicIp": "DISABLED",
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
        assert variables["OIDC_ALLOWED_SUBJECTS"] == "repo:org/cloudagent:environment:dev", name
    served = json.loads(local.paths.serve_config.read_text())["app_env"]
    deployed = lambdas.get_function_configuration(FunctionName=local.api_function)["Environment"][
        "Variables"
    ]
    differing = {k for k in deployed if served.get(k) != deployed[k]}
    assert differing == {"OIDC_ISSUER", "OIDC_JWKS_URL", "OIDC_ALLOWED_SUBJECTS"}
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
    """What the end-to-end steps learn about the one run that goes all the way through."""

    run_id: str
    task: dict
    exit_code: int


def test_post_run_writes_the_record_and_starts_the_task_with_the_prompt(
    local: UpResult, deployment: LocalDeployment, token: str
) -> None:
    body = {"prompt": PROMPT, "provider": "openai", "model": MODEL}
    # Provider keys start with no value: the run is refused, nothing is recorded.
    refused = call("POST", f"{local.api_url}/v1/runs", token=token, body=body)
    assert refused.status == 409, refused.body
    assert refused.body["error"]["code"] == "provider_key_not_set"
    result = invoke(
        local.aws,
        "cloudagent-dev-admin",
        {"action": "set_provider_key", "provider": "openai", "value": "sk-local-e2e"},
    )
    assert result["ok"] is True, result
    created = call("POST", f"{local.api_url}/v1/runs", token=token, body=body)
    assert created.status == 202, created.body
    assert created.body["status"] == "STARTING"
    Run.run_id = created.body["run_id"]
    item = deployment.client("dynamodb").get_item(
        TableName="cloudagent-dev", Key={"pk": {"S": f"RUN#{Run.run_id}"}, "sk": {"S": "RUN"}}
    )["Item"]
    assert item["status"]["S"] == "STARTING"
    assert item["prompt"]["S"] == PROMPT
    assert item["created_by"]["S"] == DEV_SUBJECT
    ecs = deployment.client("ecs")
    [task] = ecs.describe_tasks(cluster="cloudagent-dev", tasks=[item["task_arn"]["S"]])["tasks"]
    assert task["startedBy"] == Run.run_id
    [override] = task["overrides"]["containerOverrides"]
    env = {e["name"]: e["value"] for e in override["environment"]}
    assert env["JOB_PROMPT"] == PROMPT
    assert env["RUN_ID"] == Run.run_id
    assert (env["AGENT_PROVIDER"], env["AGENT_MODEL"]) == ("openai", MODEL)
    Run.task = task


def test_the_agent_container_runs_with_what_ecs_recorded(
    local: UpResult, deployment: LocalDeployment, fake: FakeOpenAI, tmp_path: Path
) -> None:
    """image/entrypoint + real pi, environment = task definition + secrets + task overrides."""
    from devtools.pi_runtime import ensure_runtime

    ecs = deployment.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=Run.task["taskDefinitionArn"])
    env = container_environment(
        Run.task,
        definition["taskDefinition"],
        deployment.client("secretsmanager"),
        "agent",
    )
    assert env["OPENAI_API_KEY"] == "sk-local-e2e"
    fake.reset()
    code, events, stderr = run_container(env, ensure_runtime(), fake, tmp_path)
    assert code == 0, stderr
    assert events[0]["type"] == "runtime_start"
    assert events[-1]["type"] == "runtime_end" and events[-1]["exit_code"] == 0
    assert all(e.get("run_id") == Run.run_id for e in events if e["type"].startswith("runtime"))
    assert PROMPT in json.dumps(fake.requests[0])
    assert fake.auth_headers[0] == "Bearer sk-local-e2e"
    Run.exit_code = code


def test_task_state_change_reaches_the_run_record(
    local: UpResult, deployment: LocalDeployment, token: str
) -> None:
    ecs = deployment.client("ecs")
    ecs.stop_task(cluster="cloudagent-dev", task=Run.task["taskArn"], reason="container exited")
    event = stopped_event(Run.task, "agent", Run.exit_code)
    [delivered] = deliver(local.aws, event)
    assert delivered["rule"] == "cloudagent-dev-task-state"
    assert delivered["function"] == "cloudagent-dev-task-state"
    assert delivered["result"]["status"] == "STOPPED"
    assert delivered["result"]["released_slot"] is True
    run = call("GET", f"{local.api_url}/v1/runs/{Run.run_id}", token=token)
    assert run.status == 200
    assert run.body["status"] == "STOPPED"
    assert run.body["exit_code"] == Run.exit_code == 0
    assert run.body["stopped_reason"] == "Essential container in task exited"
    # Delivered again (EventBridge is at-least-once): nothing changes, no slot released twice.
    [again] = deliver(local.aws, event)
    assert again["result"]["released_slot"] is False


def test_stop_idempotency_and_the_cap(
    local: UpResult, deployment: LocalDeployment, token: str
) -> None:
    runs = f"{local.api_url}/v1/runs"
    body = {"prompt": "hello", "provider": "openai", "model": MODEL}
    ecs = deployment.client("ecs")

    # stop: StopTask on the run's task, the record says STOPPING until ECS reports STOPPED.
    started = call("POST", runs, token=token, body=body)
    stopped = call("POST", f"{runs}/{started.body['run_id']}/stop", token=token)
    assert stopped.status == 202 and stopped.body["status"] == "STOPPING"
    arn = call("GET", f"{runs}/{started.body['run_id']}", token=token).body["task_arn"]
    [task] = ecs.describe_tasks(cluster="cloudagent-dev", tasks=[arn])["tasks"]
    assert task["desiredStatus"] == "STOPPED"
    assert DEV_SUBJECT in task["stoppedReason"]

    # idempotency: the same key and body give the same run, and only one task.
    key = {"Idempotency-Key": "e2e-key-1"}
    first = call("POST", runs, token=token, body=body, headers=key)
    second = call("POST", runs, token=token, body=body, headers=key)
    assert first.status == second.status == 202
    assert second.body["run_id"] == first.body["run_id"]
    assert second.headers.get("idempotent-replayed") == "true"
    tasks = ecs.list_tasks(cluster="cloudagent-dev", startedBy=first.body["run_id"])["taskArns"]
    assert len(tasks) == 1

    # the cap: MAX_CONCURRENT_RUNS (5, from the deployed function) active runs, then 429.
    limit = int(
        deployment.client("lambda")
        .get_function_configuration(FunctionName=local.api_function)["Environment"]["Variables"]
        .get("MAX_CONCURRENT_RUNS")
    )
    active = 2  # the stopping run and the idempotent one hold their slots
    for _ in range(limit - active):
        assert call("POST", runs, token=token, body=body).status == 202
    refused = call("POST", runs, token=token, body=body)
    assert refused.status == 429
    assert refused.body["error"]["code"] == "concurrency_limit"


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
    assert definition["taskDefinition"]["containerDefinitions"][0]["image"].endswith(":v2")
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
    assert sorted(result.stopped) == ["API server", "moto server"]
    assert not processes.alive(local.moto_pid, MOTO_MARKER)
    assert not processes.alive(local.server_pid, SERVE_MARKER)
    ports = [state["moto_port"], *state["ports"].values()]
    assert not [p for p in ports if processes.port_open(p)]
    assert sorted(p.name for p in local.paths.root.iterdir()) == ["moto.log", "server.log"]
