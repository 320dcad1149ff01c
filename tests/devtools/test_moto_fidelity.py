"""The moto server the tests and `make up` run answers in AWS's shapes where Terraform reads them.

Real moto server (devtools.moto_server starts `python -m devtools.moto_fidelity`), real boto3.
"""

from __future__ import annotations

import json

import boto3

from devtools.moto_server import FAKE_CREDENTIALS, MotoServer

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:*",
            "Condition": {"StringEquals": {"aws:Referer": "value"}},
        }
    ],
}


def test_rest_api_policy_comes_back_escaped_as_aws_returns_it(moto: MotoServer) -> None:
    """AWS returns `{\\"Version\\":...}`; the provider unquotes it, which raw JSON fails."""
    client = boto3.client(
        "apigateway",
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    api_id = client.create_rest_api(name="fidelity", policy=json.dumps(POLICY))["id"]
    try:
        returned = client.get_rest_api(restApiId=api_id)["policy"]
        assert returned.startswith('{\\"')
        # What the provider does: read it as the body of a quoted string, then as JSON.
        assert json.loads(json.loads(f'"{returned}"')) == POLICY
        without = client.create_rest_api(name="fidelity-none")["id"]
        assert "policy" not in client.get_rest_api(restApiId=without)
        client.delete_rest_api(restApiId=without)
    finally:
        client.delete_rest_api(restApiId=api_id)


def _client(moto: MotoServer, service: str):
    return boto3.client(
        service,
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def test_run_task_accepts_a_container_that_shares_the_tasks_memory(moto: MotoServer) -> None:
    """Fargate: a container without memory of its own (repo-init) uses the task's; moto's
    RunTask summed None and answered 500."""
    ec2, ecs = _client(moto, "ec2"), _client(moto, "ecs")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as the stack's
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="fidelity", Description="x", VpcId=vpc)["GroupId"]
    cluster = ecs.create_cluster(clusterName="fidelity")["cluster"]["clusterArn"]
    family = ecs.register_task_definition(
        family="fidelity-repo",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="2048",
        containerDefinitions=[
            {"name": "agent", "image": "x", "memory": 1536},
            {"name": "model-proxy", "image": "x", "memory": 512, "cpu": 256},
            {"name": "repo-init", "image": "x", "essential": False},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    try:
        tasks = ecs.run_task(
            cluster=cluster,
            taskDefinition=family,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}
            },
        )["tasks"]
        assert [t["taskDefinitionArn"] for t in tasks] == [family]
        ecs.stop_task(cluster=cluster, task=tasks[0]["taskArn"])
    finally:
        ecs.deregister_task_definition(taskDefinition=family)
        ecs.delete_cluster(cluster=cluster)
        ec2.delete_security_group(GroupId=group)
        ec2.delete_subnet(SubnetId=subnet)
        ec2.delete_vpc(VpcId=vpc)
