"""The agent stack's JSON has every property of seed rows A1-A7 and the container contract."""

from __future__ import annotations

import json

import pytest

from stacks.shared.constants import PROVIDER_KEY_ENV
from tests.support.synthesized import one, policy_of


@pytest.fixture(scope="module")
def agent(stacks: dict[str, dict]) -> dict:
    return stacks["agent"]


@pytest.fixture(scope="module")
def container(agent: dict) -> dict:
    [definition] = json.loads(one(agent, "aws_ecs_task_definition")["container_definitions"])
    return definition


def test_task_definition_is_the_largest_fargate_shape(agent: dict) -> None:
    task = one(agent, "aws_ecs_task_definition")
    assert task["family"] == "cloudagent-dev-agent"
    assert (task["cpu"], task["memory"]) == ("16384", "122880")
    assert task["ephemeral_storage"] == {"size_in_gib": 200}
    assert task["network_mode"] == "awsvpc"
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["runtime_platform"] == {
        "operating_system_family": "LINUX",
        "cpu_architecture": "X86_64",
    }
    assert task["volume"] == [{"name": "workspace"}]
    assert task["execution_role_arn"].startswith("${aws_iam_role.")
    assert task["task_role_arn"].startswith("${aws_iam_role.")


def test_container_contract(container: dict) -> None:
    assert container["name"] == "agent"
    assert container["image"].endswith("repository_url}:latest")
    assert container["user"] == "1000"
    assert container["stopTimeout"] == 30
    assert container["linuxParameters"] == {"initProcessEnabled": True}
    assert container["memory"] == 122880
    assert container["privileged"] is False
    assert container["readonlyRootFilesystem"] is False  # ECS Exec needs a writable root
    assert container["mountPoints"] == [
        {"sourceVolume": "workspace", "containerPath": "/workspace", "readOnly": False}
    ]


def test_provider_keys_only_as_secrets(container: dict) -> None:
    assert sorted(s["name"] for s in container["secrets"]) == sorted(PROVIDER_KEY_ENV.values())
    assert all("secretsmanager_secret" in s["valueFrom"] for s in container["secrets"])
    env_names = {e["name"] for e in container["environment"]}
    assert not env_names & set(PROVIDER_KEY_ENV.values())
    assert env_names == {"AGENT_MAX_RUNTIME_SECONDS", "AGENT_STOP_GRACE_SECONDS", "PI_OFFLINE"}


def test_logs_to_the_agent_group_without_blocking(agent: dict, container: dict) -> None:
    log = container["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    assert log["options"]["mode"] == "non-blocking"
    assert log["options"]["max-buffer-size"] == "25m"
    assert log["options"]["awslogs-stream-prefix"] == "agent"
    group = one(agent, "aws_cloudwatch_log_group")
    assert group["name"] == "/cloudagent/dev/agent" and group["retention_in_days"] == 14


def test_tasks_security_group_has_no_inbound_and_https_dns_outbound(agent: dict) -> None:
    group = one(agent, "aws_security_group")
    assert group["ingress"] == []
    ports = sorted(
        (rule["protocol"], rule["from_port"], rule["to_port"]) for rule in group["egress"]
    )
    assert ports == [("tcp", 53, 53), ("tcp", 443, 443), ("udp", 53, 53)]
    dns = [rule for rule in group["egress"] if rule["from_port"] == 53]
    assert all(rule["cidr_blocks"] == ["10.40.0.0/16"] for rule in dns)


def test_execution_role_pulls_one_repo_writes_one_group_reads_five_secrets(agent: dict) -> None:
    statements = {s["Sid"]: s for s in policy_of(agent, "-execution")}
    assert statements["RegistryLogin"]["Resource"] == "*"
    assert statements["RegistryLogin"]["Action"] == "ecr:GetAuthorizationToken"
    assert "aws_ecr_repository" in statements["PullAgentImage"]["Resource"]
    assert len(statements["ReadProviderKeys"]["Resource"]) == 5
    assert statements["WriteAgentLogs"]["Resource"].startswith("${aws_cloudwatch_log_group.")


def test_task_role_touches_only_secrets_table_and_exec(agent: dict) -> None:
    statements = policy_of(agent, "-task")
    services = {
        a.split(":")[0]
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert services == {"secretsmanager", "dynamodb", "kms", "ssmmessages", "logs"}
    for statement in statements:
        if statement["Resource"] == "*":
            assert statement["Sid"] == "EcsExecChannels"
    table = next(s for s in statements if s["Sid"] == "ReadWriteRunTable")
    assert any(r.endswith("/index/by_time") for r in table["Resource"])


def test_outputs_for_the_api_stack(agent: dict) -> None:
    assert {
        "task_definition_arn",
        "task_definition_family",
        "task_role_arn",
        "execution_role_arn",
        "container_name",
        "log_group_name",
        "security_group_id",
    } <= set(agent["output"])
