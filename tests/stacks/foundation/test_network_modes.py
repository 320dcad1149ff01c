"""`network_mode`: public subnets with a public IP and no NAT (default), or private behind NAT.

The default synth is `public`; the `nat_observe` variant (tests/conftest.py) is `nat` with one
NAT gateway per AZ. Both are asserted on the JSON here; both apply on moto (tests/e2e and
tests/devtools/test_terraform.py).
"""

from __future__ import annotations

import pytest

from tests.support.synthesized import resources


@pytest.fixture(scope="module")
def nat(variant_stacks) -> dict[str, dict]:
    return variant_stacks("nat_observe")


def _subnet_keys(stack: dict, tier: str) -> set[str]:
    return {
        key
        for key, subnet in stack["resource"]["aws_subnet"].items()
        if subnet["tags"]["Tier"] == tier
    }


def _lambda_env(api: dict) -> dict[str, str]:
    """The control functions' environment (all four share one)."""
    return resources(api, "aws_lambda_function")[0]["environment"]["variables"]


def test_public_mode_has_no_nat_gateway_eip_or_private_default_route(stacks) -> None:
    foundation = stacks["foundation"]
    assert resources(foundation, "aws_nat_gateway") == []
    assert resources(foundation, "aws_eip") == []
    routes = resources(foundation, "aws_route")
    # The only default route goes to the internet gateway, from the public route table.
    assert [r["destination_cidr_block"] for r in routes] == ["0.0.0.0/0"]
    assert routes[0]["gateway_id"].startswith("${aws_internet_gateway.")


def test_public_mode_runs_tasks_in_the_public_subnets_with_a_public_ip(stacks) -> None:
    env = _lambda_env(stacks["api"])
    assert env["ASSIGN_PUBLIC_IP"] == "ENABLED"
    public = _subnet_keys(stacks["foundation"], "public")
    subnet_refs = env["SUBNET_IDS"].split(",")
    assert len(subnet_refs) == 2
    # Cross-stack references name the producing resource: both are public subnets.
    assert all(any(key in ref for key in public) for ref in subnet_refs), subnet_refs


def test_nat_mode_has_one_gateway_per_az_and_private_default_routes(nat) -> None:
    foundation = nat["foundation"]
    gateways = resources(foundation, "aws_nat_gateway")
    assert len(gateways) == 2
    assert len(resources(foundation, "aws_eip")) == 2
    public = _subnet_keys(foundation, "public")
    assert all(any(key in g["subnet_id"] for key in public) for g in gateways)
    nat_routes = [r for r in resources(foundation, "aws_route") if "nat_gateway_id" in r]
    assert len(nat_routes) == 2
    assert {r["nat_gateway_id"] for r in nat_routes} == {
        f"${{aws_nat_gateway.{key}.id}}" for key in foundation["resource"]["aws_nat_gateway"]
    }


def test_nat_mode_runs_tasks_in_the_private_subnets_without_a_public_ip(nat) -> None:
    env = _lambda_env(nat["api"])
    assert env["ASSIGN_PUBLIC_IP"] == "DISABLED"
    private = _subnet_keys(nat["foundation"], "private")
    subnet_refs = env["SUBNET_IDS"].split(",")
    assert len(subnet_refs) == 2
    assert all(any(key in ref for key in private) for ref in subnet_refs), subnet_refs
