"""Where tasks run: the subnets and `assignPublicIp` the api stack configures (network_mode).

With `network_mode=public` the api stack sets `SUBNET_IDS` to the public subnets and
`ASSIGN_PUBLIC_IP=ENABLED` (no NAT gateway: the task's own public IPv4 is its way out); with
`nat`, the private subnets and `DISABLED`. RunTask must pass both through unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.core import aws
from chalicelib.core import config as cfg

from tests.support.control_api import Env

RUN = {"prompt": "Write a haiku", "provider": "anthropic", "model": "claude-sonnet-4"}


@pytest.fixture
def public_network(api_env: Env, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two task subnets and ASSIGN_PUBLIC_IP=ENABLED, as the api stack sets them by default."""
    ec2 = aws.client("ec2")
    [subnet] = api_env.subnets
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    second = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    monkeypatch.setenv("SUBNET_IDS", f"{subnet},{second}")
    monkeypatch.setenv("ASSIGN_PUBLIC_IP", "ENABLED")
    cfg.reset()
    return [subnet, second]


def test_run_task_gets_the_task_subnets_and_public_ip_from_config(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    public_network: list[str],
    run_task_calls: list[dict[str, Any]],
) -> None:
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(RUN).encode())
    assert resp.status_code == 202, resp.body

    [call] = run_task_calls
    vpc = call["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc == {
        "subnets": public_network,
        "securityGroups": api_env.security_groups,
        "assignPublicIp": "ENABLED",
    }
    # moto placed the task's network interface in the first task subnet.
    record = client.http.get(f"/v1/runs/{resp.json_body['run_id']}", headers=headers).json_body
    [task] = aws.client("ecs").describe_tasks(
        cluster=api_env.cluster_arn, tasks=[record["task_arn"]]
    )["tasks"]
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["subnetId"] == public_network[0]


def test_assign_public_ip_defaults_to_disabled(
    client: Any,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    run_task_calls: list[dict[str, Any]],
) -> None:
    """Without the variable (an older api stack), tasks keep no public IP, as behind NAT."""
    monkeypatch.delenv("ASSIGN_PUBLIC_IP", raising=False)
    cfg.reset()
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(RUN).encode())
    assert resp.status_code == 202, resp.body
    [call] = run_task_calls
    assert call["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"


@pytest.mark.parametrize("value", ["enabled", "yes", "TRUE"])
def test_other_assign_public_ip_values_are_refused_naming_the_variable(
    client: Any,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    run_task_calls: list[dict[str, Any]],
    value: str,
) -> None:
    monkeypatch.setenv("ASSIGN_PUBLIC_IP", value)
    cfg.reset()
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(RUN).encode())
    assert resp.status_code == 500
    error = json.loads(resp.body)["error"]
    assert error["code"] == "configuration_error"
    assert "ASSIGN_PUBLIC_IP" in error["message"]
    assert run_task_calls == []
