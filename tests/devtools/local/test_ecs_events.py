"""The local runner's ECS events carry the task's ENI attachment as ECS's do, so the control
API finds the task's private address (and with it the task's DNS queries) under ``make up``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.local.runner import ecs_events

REGION = "us-east-1"


@pytest.fixture
def moto_task(mocked_aws: None) -> Iterator[tuple[dict[str, Any], str]]:
    """A Fargate task described by moto's ECS, and the address of its ENI from EC2."""
    import boto3

    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", region_name=REGION)
    cluster = ecs.create_cluster(clusterName="c")["cluster"]["clusterArn"]
    ecs.register_task_definition(
        family="agent",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "agent", "image": "agent", "memory": 512}],
    )
    arn = ecs.run_task(
        cluster=cluster,
        taskDefinition="agent",
        launchType="FARGATE",
        startedBy="run_x",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
    )["tasks"][0]["taskArn"]
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])
    yield task, enis["NetworkInterfaces"][0]["PrivateIpAddress"]


def address(event: dict[str, Any]) -> tuple[str, str, str | None]:
    [attachment] = event["detail"]["attachments"]
    details = {d["name"]: d["value"] for d in attachment["details"]}
    return attachment["type"], attachment["status"], details.get("privateIPv4Address")


def test_events_carry_the_task_address(moto_task: tuple[dict[str, Any], str]) -> None:
    task, ip = moto_task
    now = ecs_events.iso()
    running = ecs_events.running_event(task, "agent", pull_started=now, started=now)
    stopped = ecs_events.stopped_event(
        task, "agent", exit_code=0, stop_code="EssentialContainerExited", reason="x", started=now
    )
    assert address(running) == ("eni", "ATTACHED", ip)
    assert address(stopped) == ("eni", "DELETED", ip)


def test_a_task_without_an_eni_has_no_attachment() -> None:
    task = {
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/1",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/agent:1",
    }
    event = ecs_events.running_event(task, "agent", pull_started="t", started="t")
    assert event["detail"]["attachments"] == []
