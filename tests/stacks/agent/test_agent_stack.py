"""The agent stack's JSON has every property of seed rows A1-A7 and the container contract."""

from __future__ import annotations

import json

import pytest

from stacks.shared.constants import PROVIDER_KEY_ENV
from tests.support.synthesized import one, policy_of, resources


@pytest.fixture(scope="module")
def agent(stacks: dict[str, dict]) -> dict:
    return stacks["agent"]


def task_definitions(agent: dict) -> dict[str, dict]:
    """provider -> task definition: one per provider."""
    found = resources(agent, "aws_ecs_task_definition")
    return {t["family"].removeprefix("cloudagent-dev-agent-"): t for t in found}


def containers(agent: dict) -> dict[str, dict]:
    found = {}
    for provider, task in task_definitions(agent).items():
        [definition] = json.loads(task["container_definitions"])
        found[provider] = definition
    return found


@pytest.fixture(scope="module")
def container(agent: dict) -> dict:
    return containers(agent)["anthropic"]


def test_one_task_definition_per_provider(agent: dict) -> None:
    assert sorted(task_definitions(agent)) == sorted(PROVIDER_KEY_ENV)


@pytest.mark.parametrize("provider", sorted(PROVIDER_KEY_ENV))
def test_each_task_definition_injects_only_its_providers_key(agent: dict, provider: str) -> None:
    definition = containers(agent)[provider]
    assert [s["name"] for s in definition["secrets"]] == [PROVIDER_KEY_ENV[provider]]
    source = definition["secrets"][0]["valueFrom"]
    assert provider in source and not [p for p in PROVIDER_KEY_ENV if p != provider and p in source]
    assert {"name": "AGENT_PROVIDER", "value": provider} in definition["environment"]


def test_task_definition_is_the_largest_fargate_shape(agent: dict) -> None:
    task = task_definitions(agent)["openai"]
    assert task["family"] == "cloudagent-dev-agent-openai"
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
    # init reaps ECS Exec's orphans; no Linux capability survives (none is added back)
    assert container["linuxParameters"] == {
        "initProcessEnabled": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["memory"] == 122880
    assert container["privileged"] is False
    assert container["readonlyRootFilesystem"] is False  # ECS Exec needs a writable root
    assert container["mountPoints"] == [
        {"sourceVolume": "workspace", "containerPath": "/workspace", "readOnly": False}
    ]


def test_provider_keys_only_as_secrets(container: dict) -> None:
    assert [s["name"] for s in container["secrets"]] == ["ANTHROPIC_API_KEY"]
    assert all("secretsmanager_secret" in s["valueFrom"] for s in container["secrets"])
    env_names = {e["name"] for e in container["environment"]}
    assert not env_names & set(PROVIDER_KEY_ENV.values())
    assert env_names == {
        "AGENT_MAX_RUNTIME_SECONDS",
        "AGENT_STOP_GRACE_SECONDS",
        "AGENT_PROVIDER",
        "PI_OFFLINE",
    }


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
    # Only the Amazon-provided resolver (base + 2): any other server would bypass the firewall.
    assert all(rule["cidr_blocks"] == ["10.40.0.2/32"] for rule in dns)


def test_execution_role_pulls_one_repo_writes_one_group_reads_five_secrets(agent: dict) -> None:
    statements = {s["Sid"]: s for s in policy_of(agent, "-execution")}
    assert statements["RegistryLogin"]["Resource"] == "*"
    assert statements["RegistryLogin"]["Action"] == "ecr:GetAuthorizationToken"
    assert "aws_ecr_repository" in statements["PullAgentImage"]["Resource"]
    assert len(statements["ReadProviderKeys"]["Resource"]) == 5
    assert statements["WriteAgentLogs"]["Resource"].startswith("${aws_cloudwatch_log_group.")


def test_task_role_reaches_ecs_exec_and_nothing_else(agent: dict) -> None:
    """No Secrets Manager (keys are injected), no DynamoDB (results go through the log)."""
    statements = policy_of(agent, "-task")
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {a.split(":")[0] for a in actions} == {"kms", "ssmmessages", "logs"}
    assert "kms:Decrypt" in actions and "kms:GenerateDataKey" not in actions
    for statement in statements:
        if statement["Resource"] == "*":
            assert statement["Sid"] == "EcsExecChannels"


def test_outputs_for_the_api_stack(agent: dict) -> None:
    assert {
        "task_definition_arns",
        "task_role_arn",
        "execution_role_arn",
        "container_name",
        "log_group_name",
        "security_group_id",
    } <= set(agent["output"])


def test_ecs_roles_trust_only_this_accounts_tasks(agent: dict) -> None:
    """Confused-deputy guard: aws:SourceAccount and aws:SourceArn on the ECS service trust."""
    for role in resources(agent, "aws_iam_role"):
        [statement] = json.loads(role["assume_role_policy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        condition = statement["Condition"]
        assert "aws_caller_identity" in condition["StringEquals"]["aws:SourceAccount"]
        assert condition["ArnLike"]["aws:SourceArn"].endswith(":*")
