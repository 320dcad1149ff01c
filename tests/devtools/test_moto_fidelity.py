"""The moto server the tests and `make up` run answers in AWS's shapes where Terraform reads them.

Real moto server (devtools.moto_server starts `python -m devtools.moto_fidelity`), real boto3.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from devtools import moto_fidelity
from devtools.moto_server import FAKE_CREDENTIALS, MotoServer, free_port
from devtools.moto_server import start as start_moto

_KEYS = {
    "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
    "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
}

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


@pytest.mark.parametrize("serialized", [True, False], ids=["corrected", "plain-moto"])
def test_a_failed_transaction_never_undoes_a_write_made_meanwhile(
    serialized: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction whose condition fails, and a put made while it runs: the put must stay.

    moto's restore of a failed transaction is widened to half a second (its deep copy sleeps),
    so the put lands inside it every time. Served one call at a time, the put waits and stays;
    plain moto (`plain-moto`, the same server without the correction) loses it - the race the
    correction removes, shown rather than assumed.
    """
    call = (
        moto_fidelity.dynamodb_call_one_at_a_time
        if serialized
        else moto_fidelity.dynamodb_call_as_moto_serves_it
    )
    monkeypatch.setattr(DynamoHandler, "call_action", call)
    real_copy = dynamodb_models.copy

    def slow_deepcopy(value: Any, *args: Any) -> Any:
        backup = real_copy.deepcopy(value, *args)
        time.sleep(0.5)  # the window in which another request writes
        return backup

    monkeypatch.setattr(dynamodb_models, "copy", SimpleNamespace(deepcopy=slow_deepcopy))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{server._port}"
        db = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", **_KEYS)
        table = f"fidelity-race-{uuid.uuid4().hex[:8]}"
        db.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        failed: list[str] = []

        def failing_transaction() -> None:
            try:
                db.transact_write_items(
                    TransactItems=[
                        {
                            "ConditionCheck": {
                                "TableName": table,
                                "Key": {"pk": {"S": "absent"}},
                                "ConditionExpression": "attribute_exists(pk)",
                            }
                        }
                    ]
                )
            except db.exceptions.TransactionCanceledException:
                failed.append("cancelled")

        transaction = threading.Thread(target=failing_transaction)
        transaction.start()
        time.sleep(0.2)  # the transaction is inside its deep copy now
        db.put_item(TableName=table, Item={"pk": {"S": "written-meanwhile"}})
        transaction.join(10)
        assert failed == ["cancelled"]
        kept = "Item" in db.get_item(TableName=table, Key={"pk": {"S": "written-meanwhile"}})
        assert kept is serialized
    finally:
        server.stop()


def test_a_request_the_sdk_sends_again_is_named_in_the_log(tmp_path: Path) -> None:
    """moto.log names every retried request (the witness for a create answered twice)."""
    log = tmp_path / "moto.log"
    with start_moto(log_file=log) as server:
        for attempt in (1, 2):
            request = urllib.request.Request(
                f"{server.url}/",
                data=b"Action=DescribeVpcs&Version=2016-11-15",
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/"
                    "us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x",
                    "amz-sdk-request": f"attempt={attempt}; max=25",
                    "amz-sdk-invocation-id": "inv-1",
                },
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert b"DescribeVpcsResponse" in answer.read()  # the body still reached moto
    retried = [line for line in log.read_text().splitlines() if "retried by the SDK" in line]
    assert retried == ["retried by the SDK: DescribeVpcs attempt=2 invocation=inv-1"]


def test_an_answer_the_client_never_took_is_named_in_the_log(tmp_path: Path) -> None:
    """A client that resets its connection before moto answers: werkzeug drops the answer
    silently; moto.log names it with the SDK's invocation id (the other half of the witness)."""
    log = tmp_path / "moto.log"
    body = b"Action=DescribeVpcs&Version=2016-11-15"
    with start_moto(log_file=log) as server:
        sent = []
        for n in range(20):  # the reset has to land before moto writes; it does at once, mostly
            invocation = f"inv-reset-{n}"
            sent.append(invocation)
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
                conn.sendall(
                    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/"
                    b"aws4_request, SignedHeaders=host, Signature=x\r\n"
                    + b"amz-sdk-request: attempt=1; max=25\r\n"
                    + f"amz-sdk-invocation-id: {invocation}\r\n".encode()
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                # close with SO_LINGER 0: an RST, as a client that gave up on the connection sends
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            time.sleep(0.2)
            if "invocation=inv-reset-" in log.read_text():
                break
    lines = log.read_text().splitlines()
    # (the start's readiness probe, `GET /moto-api/` with a 1 s timeout, can be one too)
    dropped = [line for line in lines if "answer not delivered" in line and "inv-reset-" in line]
    assert dropped, "no reset landed before moto's answer in 20 tries"
    reason, _, named = dropped[0].removeprefix("answer not delivered (").partition("): ")
    assert reason in {"ConnectionResetError", "BrokenPipeError"}
    operation, _, named_invocation = named.partition(" attempt=1 invocation=")
    assert operation == "POST /" and named_invocation in sent


def test_retry_attempt_reads_the_sdk_header() -> None:
    assert moto_fidelity.retry_attempt({"HTTP_AMZ_SDK_REQUEST": "attempt=3; max=25"}) == 3
    assert moto_fidelity.retry_attempt({}) == 1
