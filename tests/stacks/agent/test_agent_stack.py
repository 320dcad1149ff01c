"""The agent stack's JSON has every property of seed rows A1-A7 and the container contract."""

from __future__ import annotations

import json

import pytest
from checkov.common.models.enums import CheckResult

from stacks.shared.constants import (
    MODEL_PROXY_CPU_UNITS,
    MODEL_PROXY_MEMORY_MIB,
    PROVIDER_KEY_ENV,
    TASK_MEMORY_MIB,
)
from tests.support.checkov import load_checks
from tests.support.planting import checkov_conf
from tests.support.synthesized import containers_of, one, policy_of, resources, task_definitions

PREFIX = "cloudagent-dev-agent"
AGENT_ENVIRONMENT = {
    "AGENT_MAX_RUNTIME_SECONDS": "7200",
    "AGENT_STOP_GRACE_SECONDS": "30",
    "PI_OFFLINE": "1",
    "AGENT_MODEL_PROXY_URL": "http://127.0.0.1:8787",
    "AGENT_HANDOFF_DIR": "/run/cloudagent/handoff",
}
WORKSPACE = {"sourceVolume": "workspace", "containerPath": "/workspace", "readOnly": False}


@pytest.fixture(scope="module")
def agent(stacks: dict[str, dict]) -> dict:
    return stacks["agent"]


@pytest.fixture(scope="module")
def families(agent: dict) -> dict[str, dict]:
    """family -> container name -> container definition, for every agent task definition."""
    return {family: containers_of(t) for family, t in task_definitions(agent).items()}


@pytest.fixture(scope="module")
def container(families: dict[str, dict]) -> dict:
    """The agent container of anthropic's task definition without a repository."""
    return families[f"{PREFIX}-anthropic"]["agent"]


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def _family(provider: str, with_repo: bool) -> str:
    return f"{PREFIX}-{provider}" + ("-repo" if with_repo else "")


BOTH = [(p, r) for p in sorted(PROVIDER_KEY_ENV) for r in (False, True)]
BOTH_IDS = [_family(p, r).removeprefix(f"{PREFIX}-") for p, r in BOTH]


def test_two_task_definitions_per_provider_with_stable_logical_ids(agent: dict) -> None:
    """The existing definitions keep their Terraform ids; the `-repo` families are new ones."""
    by_id = {k: t["family"] for k, t in agent["resource"]["aws_ecs_task_definition"].items()}
    assert by_id == {
        **{f"task_definition_{p}": _family(p, False) for p in PROVIDER_KEY_ENV},
        **{f"task_definition_{p}_repo": _family(p, True) for p in PROVIDER_KEY_ENV},
    }


@pytest.mark.parametrize(("provider", "with_repo"), BOTH, ids=BOTH_IDS)
def test_containers_of_each_family(
    families: dict[str, dict], provider: str, with_repo: bool
) -> None:
    """model-proxy + agent; the `-repo` family adds repo-init, and the agent waits for it."""
    containers = families[_family(provider, with_repo)]
    expected = ["agent", "model-proxy", *(["repo-init"] if with_repo else [])]
    assert list(containers) == expected
    assert containers["agent"]["dependsOn"] == [
        {"containerName": "model-proxy", "condition": "START"},
        *([{"containerName": "repo-init", "condition": "SUCCESS"}] if with_repo else []),
    ]
    assert [c["essential"] for c in containers.values()] == [True, True, False][: len(expected)]


@pytest.mark.parametrize(("provider", "with_repo"), BOTH, ids=BOTH_IDS)
def test_each_task_definition_injects_only_its_providers_key(
    families: dict[str, dict], provider: str, with_repo: bool
) -> None:
    """The agent has no `secrets` key at all; the proxy exactly its provider's key."""
    containers = families[_family(provider, with_repo)]
    assert "secrets" not in containers["agent"]
    assert "secrets" not in containers.get("repo-init", {})  # private_repos is off
    [secret] = containers["model-proxy"]["secrets"]
    assert secret["name"] == PROVIDER_KEY_ENV[provider]
    source = secret["valueFrom"]
    assert "secretsmanager_secret" in source and provider in source
    assert not [p for p in PROVIDER_KEY_ENV if p != provider and p in source]
    assert _env(containers["agent"]) == {**AGENT_ENVIRONMENT, "AGENT_PROVIDER": provider}
    assert _env(containers["model-proxy"]) == {
        "MODEL_PROXY_PROVIDER": provider,
        "MODEL_PROXY_PORT": "8787",
        "MODEL_PROXY_MAX_COST_USD": "25",
    }


def test_task_definition_is_the_largest_fargate_shape(agent: dict) -> None:
    for family, task in task_definitions(agent).items():
        assert (task["cpu"], task["memory"]) == ("16384", "122880"), family
        assert task["ephemeral_storage"] == {"size_in_gib": 200}
        assert task["network_mode"] == "awsvpc"
        assert task["requires_compatibilities"] == ["FARGATE"]
        assert task["runtime_platform"] == {
            "operating_system_family": "LINUX",
            "cpu_architecture": "X86_64",
        }
        assert task["volume"] == [{"name": "workspace"}, {"name": "handoff"}]
        assert task["execution_role_arn"].startswith("${aws_iam_role.")
        assert task["task_role_arn"].startswith("${aws_iam_role.")


def test_the_proxys_share_is_small_and_the_agent_keeps_the_rest(
    families: dict[str, dict],
) -> None:
    """Proxy: 256 CPU units and a hard 512 MiB; agent: the task's memory less that; repo-init:
    no reservation at all (it shares the task's memory before the agent starts)."""
    for family, containers in families.items():
        proxy, agent = containers["model-proxy"], containers["agent"]
        assert (proxy["cpu"], proxy["memory"]) == (MODEL_PROXY_CPU_UNITS, MODEL_PROXY_MEMORY_MIB)
        assert (MODEL_PROXY_CPU_UNITS, MODEL_PROXY_MEMORY_MIB) == (256, 512)
        assert agent["memory"] == TASK_MEMORY_MIB - 512 == 122368, family
        assert "cpu" not in agent
        assert sum(c.get("memory", 0) for c in containers.values()) == TASK_MEMORY_MIB
        repo_init = containers.get("repo-init", {})
        assert not {"cpu", "memory", "memoryReservation"} & set(repo_init), family


def test_container_contract(container: dict) -> None:
    assert container["name"] == "agent"
    assert container["image"].endswith("repository_url}:latest")
    assert "entryPoint" not in container  # the image's own entrypoint
    assert container["user"] == "1000"
    assert container["stopTimeout"] == 30
    # init reaps ECS Exec's orphans; no Linux capability survives (none is added back)
    assert container["linuxParameters"] == {
        "initProcessEnabled": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["privileged"] is False
    assert container["readonlyRootFilesystem"] is False  # ECS Exec needs a writable root
    assert container["workingDirectory"] == "/workspace"
    assert container["mountPoints"] == [
        WORKSPACE,
        {"sourceVolume": "handoff", "containerPath": "/run/cloudagent/handoff", "readOnly": True},
    ]


def test_sidecars_run_hardened_beside_the_agent(families: dict[str, dict]) -> None:
    """Same image, own entrypoints; the proxy under its own uid with a read-only root and no
    mount; repo-init as the agent's uid, writing the workspace and the handoff."""
    containers = families[f"{PREFIX}-openai-repo"]
    proxy, repo_init = containers["model-proxy"], containers["repo-init"]
    assert proxy["image"] == repo_init["image"] == containers["agent"]["image"]
    assert proxy["entryPoint"] == ["/usr/local/bin/model-proxy"]
    assert repo_init["entryPoint"] == ["/usr/local/bin/repo-init"]
    assert (proxy["user"], repo_init["user"]) == ("1001", "1000")
    assert (proxy["readonlyRootFilesystem"], repo_init["readonlyRootFilesystem"]) == (True, False)
    assert "mountPoints" not in proxy
    assert repo_init["mountPoints"] == [
        WORKSPACE,
        {"sourceVolume": "handoff", "containerPath": "/run/cloudagent/handoff", "readOnly": False},
    ]
    assert _env(repo_init) == {"AGENT_HANDOFF_DIR": "/run/cloudagent/handoff"}
    for sidecar in (proxy, repo_init):
        assert sidecar["privileged"] is False and sidecar["stopTimeout"] == 30
        assert sidecar["linuxParameters"] == {
            "initProcessEnabled": True,
            "capabilities": {"drop": ["ALL"]},
        }


def test_provider_keys_only_as_secrets(families: dict[str, dict]) -> None:
    """No key in any container's plain environment, no environment files."""
    for family, containers in families.items():
        for name, container in containers.items():
            env_names = {e["name"] for e in container["environment"]}
            assert not env_names & {*PROVIDER_KEY_ENV.values(), "AGENT_REPO_TOKEN"}, (family, name)
            assert "environmentFiles" not in container
            for secret in container.get("secrets", []):
                assert "secretsmanager_secret" in secret["valueFrom"], (family, name)


def test_logs_to_the_agent_group_without_blocking(agent: dict, families: dict[str, dict]) -> None:
    """Every container, one group and prefix: streams `agent/<container>/<task-id>`."""
    logs = [c["logConfiguration"] for cs in families.values() for c in cs.values()]
    assert len(logs) == 25  # 5 providers x (2 + 3 containers)
    for log in logs:
        assert log["logDriver"] == "awslogs"
        assert log["options"]["mode"] == "non-blocking"
        assert log["options"]["max-buffer-size"] == "25m"
        assert log["options"]["awslogs-stream-prefix"] == "agent"
        assert log["options"]["awslogs-group"] == "${aws_cloudwatch_log_group.log_group.name}"
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


def test_task_role_holds_nothing_and_every_task_definition_names_it(agent: dict) -> None:
    """A headless run's agent runs as the task definitions' task role: no policy, no managed
    policy — whatever the model runs holds credentials that may do nothing."""
    [key] = [
        k for k, r in agent["resource"]["aws_iam_role"].items() if r["name"] == f"{PREFIX}-task"
    ]
    role_ref = f"${{aws_iam_role.{key}."
    assert not [p for p in resources(agent, "aws_iam_role_policy") if role_ref in p["role"]]
    assert "aws_iam_role_policy_attachment" not in agent["resource"]
    assert "managed_policy_arns" not in agent["resource"]["aws_iam_role"][key]
    for task in task_definitions(agent).values():
        assert task["task_role_arn"] == f"{role_ref}arn}}"


def test_exec_role_reaches_ecs_exec_and_nothing_else(agent: dict) -> None:
    """What a session runs as: no Secrets Manager (keys are injected), no DynamoDB (results go
    through the log); the project key only for an SSM session's data key."""
    statements = {s["Sid"]: s for s in policy_of(agent, "-exec")}
    actions = {
        a
        for s in statements.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {a.split(":")[0] for a in actions} == {"kms", "ssmmessages", "logs"}
    assert "kms:Decrypt" in actions and "kms:GenerateDataKey" not in actions
    key = statements["DecryptExecSessions"]
    assert key["Condition"] == {"Null": {"kms:EncryptionContext:aws:ssm:SessionId": "false"}}
    assert "aws_kms_key" in key["Resource"] or ":key/" in key["Resource"]
    star = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert star == {"EcsExecChannels", "EcsExecLogGroupCheck"}
    assert statements["EcsExecLogGroupCheck"]["Action"] == "logs:DescribeLogGroups"


def test_outputs_for_the_api_stack(agent: dict) -> None:
    assert {
        "task_definition_arns",
        "repo_task_definition_arns",
        "task_role_arn",
        "exec_role_arn",
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


@pytest.fixture(scope="module")
def private_agent(variant_stacks) -> dict:
    """The agent stack with private_repos on and max_run_cost_usd 7.5."""
    return variant_stacks("private_repos")["agent"]


def test_with_private_repos_the_token_reaches_repo_init_only(private_agent: dict) -> None:
    """The `-repo` families give AGENT_REPO_TOKEN to repo-init alone; runs without a repository
    and sessions get no token at all."""
    for family, task in task_definitions(private_agent).items():
        containers = containers_of(task)
        holders = {
            name
            for name, c in containers.items()
            for s in c.get("secrets", [])
            if s["name"] == "AGENT_REPO_TOKEN"
        }
        assert holders == ({"repo-init"} if family.endswith("-repo") else set()), family
        assert "secrets" not in containers["agent"]
        if family.endswith("-repo"):
            [token] = containers["repo-init"]["secrets"]
            assert "secret_repo_token" in token["valueFrom"]
        # the setting flows into the proxy's cap
        assert _env(containers["model-proxy"])["MODEL_PROXY_MAX_COST_USD"] == "7.5"


def test_execution_role_reads_the_token_to_inject_it(private_agent: dict) -> None:
    statements = {s["Sid"]: s for s in policy_of(private_agent, "-execution")}
    secrets = statements["ReadProviderKeys"]["Resource"]
    assert len(secrets) == 6 and any("secret_repo_token" in s for s in secrets)


def test_every_container_check_passes_on_the_private_repos_synth(private_agent: dict) -> None:
    """CKV_CA_5..8 and 23..25 judge the real token placement, not only the default synth's."""
    checks = [
        c for c in load_checks().values() if "aws_ecs_task_definition" in c.supported_resources
    ]
    assert {c.id for c in checks} >= {"CKV_CA_23", "CKV_CA_24", "CKV_CA_25"}
    for family, task in task_definitions(private_agent).items():
        for check in checks:
            result, details = check.evaluate(checkov_conf(task), "aws_ecs_task_definition")
            assert result == CheckResult.PASSED, (family, check.id, details)
