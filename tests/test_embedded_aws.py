"""The stacks apply and destroy on moto server, each with its own S3 state, in order.

Tests in this module run in file order against one deployment: apply foundation, look at what
exists, destroy, and find nothing left.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.deploy import LocalDeployment
from devtools.moto_server import MotoServer
from devtools.synth import synthesize
from stacks.settings import PROVIDERS
from tests.conftest import STATE_BUCKET


@pytest.fixture(scope="module")
def deployment(
    synth_s3: Path, moto: MotoServer, cli_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalDeployment]:
    yield LocalDeployment(
        synth_dir=synth_s3,
        workroot=tmp_path_factory.mktemp("deploy"),
        moto=moto,
        bucket=STATE_BUCKET,
        region="us-east-1",
        cli_config=cli_config,
    )


def test_foundation_applies_with_its_own_s3_state(deployment: LocalDeployment) -> None:
    deployment.apply("foundation")
    state = deployment.state("foundation")
    assert state["serial"] >= 1
    keys = [
        o["Key"] for o in deployment.client("s3").list_objects_v2(Bucket=STATE_BUCKET)["Contents"]
    ]
    assert "cloudagent/dev/foundation.tfstate" in keys


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


def test_agent_applies_reading_foundation_through_remote_state(deployment: LocalDeployment) -> None:
    deployment.apply("agent")
    outputs = deployment.terraform("agent").output()
    ecs = deployment.client("ecs")
    task = ecs.describe_task_definition(taskDefinition=outputs["task_definition_arn"]["value"])
    definition = task["taskDefinition"]
    assert (definition["cpu"], definition["memory"]) == ("16384", "122880")
    [container] = definition["containerDefinitions"]
    assert container["image"].endswith("cloudagent-dev-agent:latest")
    assert {s["name"] for s in container["secrets"]} == {
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "XAI_API_KEY",
        "OPENROUTER_API_KEY",
    }
    assert all(":secretsmanager:" in s["valueFrom"] for s in container["secrets"])


def test_agent_task_definition_runs_on_the_cluster(deployment: LocalDeployment) -> None:
    """What the control API will do: RunTask in the private subnets with the tasks group."""
    foundation = deployment.terraform("foundation").output()
    agent = deployment.terraform("agent").output()
    response = deployment.client("ecs").run_task(
        cluster=foundation["cluster_arn"]["value"],
        taskDefinition=agent["task_definition_arn"]["value"],
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


def test_api_applies_after_foundation_and_agent(deployment: LocalDeployment) -> None:
    deployment.apply("api")
    outputs = deployment.terraform("api").output()
    lambdas = deployment.client("lambda")
    config = lambdas.get_function_configuration(FunctionName="cloudagent-dev-api")
    variables = config["Environment"]["Variables"]
    agent = deployment.terraform("agent").output()
    assert variables["TASK_DEFINITION_ARN"] == agent["task_definition_arn"]["value"]
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
    arn = deployment.terraform("agent").output()["task_definition_arn"]["value"]
    definition = deployment.client("ecs").describe_task_definition(taskDefinition=arn)
    assert definition["taskDefinition"]["containerDefinitions"][0]["image"].endswith(":v2")


def test_api_and_agent_destroy_without_touching_foundation(deployment: LocalDeployment) -> None:
    serial = deployment.state("foundation")["serial"]
    deployment.destroy("api")
    deployment.destroy("agent")
    assert deployment.state("api")["resources"] == []
    assert deployment.state("agent")["resources"] == []
    assert deployment.state("foundation")["serial"] == serial


def test_foundation_destroys_cleanly(deployment: LocalDeployment) -> None:
    deployment.destroy("foundation")
    assert deployment.client("dynamodb").list_tables()["TableNames"] == []
    clusters = deployment.client("ecs").describe_clusters(clusters=["cloudagent-dev"])["clusters"]
    assert all(c["status"] == "INACTIVE" for c in clusters)
    vpcs = deployment.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": ["cloudagent-dev"]}]
    )
    assert vpcs["Vpcs"] == []
    assert deployment.state("foundation").get("resources") == []
