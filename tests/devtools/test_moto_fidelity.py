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
