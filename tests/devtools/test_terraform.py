"""Real Terraform on the synthesized stacks: init from the local mirror and validate, offline."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from devtools.moto_server import FAKE_CREDENTIALS
from stacks.shared.constants import STACK_NAMES


@pytest.mark.parametrize("name", STACK_NAMES)
def test_init_and_validate(name: str, synth_local: Path, stack_copy, terraform_for) -> None:
    tf = terraform_for(stack_copy(synth_local, name))
    tf.init("-backend=false")
    tf.validate()


def test_nat_network_applies_on_moto(
    variant_stacks, moto, terraform_for, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`network_mode=nat` applies: NAT gateways in the public subnets, private default routes.

    The default (`public`) is applied whole by tests/e2e; here only what differs in `nat` and
    what it depends on (VPC, subnets, Elastic IPs, route tables). Not destroyed: moto keeps
    a deleted NAT gateway `deleting` and Terraform waits ~30 s; the session's moto is thrown
    away anyway.
    """
    foundation = variant_stacks("nat_observe")["foundation"]
    workdir = tmp_path_factory.mktemp("nat") / "foundation"
    workdir.mkdir()
    (workdir / "cdk.tf.json").write_text(json.dumps(foundation))
    targets = [
        f"-target={kind}.{name}"
        for kind in ("aws_nat_gateway", "aws_route", "aws_route_table_association")
        for name in foundation["resource"][kind]
    ]
    tf = terraform_for(workdir, moto.aws_env("us-east-1"))
    tf.init()
    tf.apply(*targets)
    state = json.loads((workdir / "terraform.tfstate").read_text())
    ids = {
        (r["type"], r["name"]): r["instances"][0]["attributes"]["id"]
        for r in state["resources"]
        if r["mode"] == "managed"
    }
    ec2 = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    gateways = ec2.describe_nat_gateways(
        NatGatewayIds=[v for (k, _), v in ids.items() if k == "aws_nat_gateway"]
    )["NatGateways"]
    public = {v for (k, n), v in ids.items() if k == "aws_subnet" and "public" in n}
    assert len(gateways) == 2 and {g["SubnetId"] for g in gateways} == public
    tables = [v for (k, n), v in ids.items() if k == "aws_route_table" and "private" in n]
    targets_by_table = [
        [r.get("NatGatewayId") for r in t["Routes"] if r["DestinationCidrBlock"] == "0.0.0.0/0"]
        for t in ec2.describe_route_tables(RouteTableIds=tables)["RouteTables"]
    ]
    # One gateway per AZ: each private table routes to its own.
    assert sorted(t for [t] in targets_by_table) == sorted(g["NatGatewayId"] for g in gateways)
