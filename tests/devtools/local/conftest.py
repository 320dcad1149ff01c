"""A moto account with the three-container task definition of the container contract.

`repo-init` (not essential, uid 1000, the workspace and handoff volumes read-write),
`model-proxy` (essential, uid 1001, the provider key as its one secret, no mounts) and
`agent` (essential, uid 1000, no secrets, the handoff volume read-only, dependsOn the proxy
START and repo-init SUCCESS) - what the agent stack registers for a run with a repository.
The containers' programs are given per test (`entry`), so the runner's part is tested
without the agent image: shell scripts stand in for the image's programs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REGION = "us-east-1"
GROUP = "/cloudagent/dev/agent"
HANDOFF = "/run/cloudagent/handoff"
KEY_VAR = "OPENAI_API_KEY"


def _logs() -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": GROUP,
            "awslogs-region": REGION,
            "awslogs-stream-prefix": "agent",
        },
    }


def three_containers(key_arn: str, entry: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The contract's containers; `entry` maps a container name to its entryPoint."""
    workspace = {"sourceVolume": "workspace", "containerPath": "/workspace", "readOnly": False}
    return [
        {
            "name": "repo-init",
            "image": "agent:latest",
            "essential": False,
            "user": "1000",
            # moto's RunTask sums a hard or soft limit of every container (a TypeError
            # without one); a soft limit holds repo-init to nothing on Fargate.
            "memoryReservation": 256,
            "entryPoint": entry.get("repo-init", ["/usr/local/bin/repo-init"]),
            "environment": [{"name": "AGENT_HANDOFF_DIR", "value": HANDOFF}],
            "mountPoints": [
                workspace,
                {"sourceVolume": "handoff", "containerPath": HANDOFF, "readOnly": False},
            ],
            "logConfiguration": _logs(),
        },
        {
            "name": "model-proxy",
            "image": "agent:latest",
            "essential": True,
            "user": "1001",
            "cpu": 256,
            "memory": 512,
            "entryPoint": entry.get("model-proxy", ["/usr/local/bin/model-proxy"]),
            "environment": [
                {"name": "MODEL_PROXY_PROVIDER", "value": "openai"},
                {"name": "MODEL_PROXY_PORT", "value": "8787"},
                {"name": "MODEL_PROXY_MAX_COST_USD", "value": "25"},
            ],
            "secrets": [{"name": KEY_VAR, "valueFrom": key_arn}],
            "stopTimeout": 5,
            "logConfiguration": _logs(),
        },
        {
            "name": "agent",
            "image": "agent:latest",
            "essential": True,
            "user": "1000",
            "memory": 3584,
            "workingDirectory": "/workspace",
            **({"entryPoint": entry["agent"]} if "agent" in entry else {}),
            "environment": [
                {"name": "AGENT_PROVIDER", "value": "openai"},
                {"name": "AGENT_MODEL_PROXY_URL", "value": "http://127.0.0.1:8787"},
                {"name": "AGENT_HANDOFF_DIR", "value": HANDOFF},
            ],
            "mountPoints": [
                workspace,
                {"sourceVolume": "handoff", "containerPath": HANDOFF, "readOnly": True},
            ],
            "dependsOn": [
                {"containerName": "model-proxy", "condition": "START"},
                {"containerName": "repo-init", "condition": "SUCCESS"},
            ],
            "stopTimeout": 5,
            "logConfiguration": _logs(),
        },
    ]


@dataclass
class Account:
    """moto clients and the ARNs a test registers against."""

    client: Callable[[str], Any]
    cluster: str
    subnet: str
    group: str
    key_arn: str
    key_value: str

    def register(self, entry: dict[str, list[str]] | None = None, **changes: Any) -> str:
        containers = three_containers(self.key_arn, entry or {})
        for name, change in changes.items():
            next(c for c in containers if c["name"] == name.replace("_", "-")).update(change)
        return self.client("ecs").register_task_definition(
            family="cloudagent-dev-agent-openai-repo",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="4096",
            volumes=[{"name": "workspace"}, {"name": "handoff"}],
            containerDefinitions=containers,
        )["taskDefinition"]["taskDefinitionArn"]

    def run_task(self, definition: str, overrides: dict[str, dict[str, str]]) -> dict[str, Any]:
        """RunTask as the control plane calls it: environment overrides per container."""
        container_overrides = [
            {"name": name, "environment": [{"name": k, "value": v} for k, v in env.items()]}
            for name, env in overrides.items()
        ]
        [task] = self.client("ecs").run_task(
            cluster=self.cluster,
            taskDefinition=definition,
            launchType="FARGATE",
            startedBy="run_test",
            overrides={"containerOverrides": container_overrides},
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.group]}
            },
        )["tasks"]
        return task


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process, with the credentials and region every runner test uses."""
    from moto import mock_aws

    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def account(mocked_aws: None) -> Iterator[Account]:
    import boto3

    clients: dict[str, Any] = {}

    def client(name: str) -> Any:
        return clients.setdefault(name, boto3.client(name, region_name=REGION))

    vpc = client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    client("ec2").modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = client("ec2").create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]
    group = client("ec2").create_security_group(GroupName="a", Description="a", VpcId=vpc)
    cluster = client("ecs").create_cluster(clusterName="cloudagent-dev")["cluster"]
    client("logs").create_log_group(logGroupName=GROUP)
    value = "sk-planted-" + os.urandom(12).hex()
    key = client("secretsmanager").create_secret(
        Name="cloudagent-dev/provider/openai", SecretString=value
    )
    yield Account(
        client, cluster["clusterArn"], subnet["SubnetId"], group["GroupId"], key["ARN"], value
    )
