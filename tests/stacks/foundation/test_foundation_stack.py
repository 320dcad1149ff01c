"""The foundation stack's synthesized JSON has every property of seed rows F1-F6."""

from __future__ import annotations

import ipaddress
import json

import pytest

from stacks.shared.constants import (
    LOG_RETENTION_DAYS,
    PROVIDERS,
    STACK_NAMES,
)
from stacks.shared.setting_loader import load_settings
from tests.support.synthesized import one, resources

SETTINGS = load_settings(environ={})


@pytest.fixture(scope="module")
def foundation(stacks: dict[str, dict]) -> dict:
    return stacks["foundation"]


def test_table(foundation: dict) -> None:
    table = one(foundation, "aws_dynamodb_table")
    assert table["name"] == "cloudagent-dev"
    assert (table["hash_key"], table["range_key"]) == ("pk", "sk")
    assert {a["name"]: a["type"] for a in table["attribute"]} == {
        "pk": "S",
        "sk": "S",
        "gsi1pk": "S",
        "gsi1sk": "S",
    }
    [index] = table["global_secondary_index"]
    assert (index["name"], index["hash_key"], index["range_key"]) == ("by_time", "gsi1pk", "gsi1sk")
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"]["enabled"] is True
    assert table["server_side_encryption"]["kms_key_arn"].startswith("${aws_kms_key.")
    assert table["deletion_protection_enabled"] is True


def test_kms_key_rotates_and_grants_no_wildcard_action(foundation: dict) -> None:
    key = one(foundation, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    policy = json.loads(key["policy"])
    for statement in policy["Statement"]:
        actions = statement["Action"]
        assert all("*" not in action for action in actions), statement["Sid"]


def test_five_provider_secrets_hold_no_value(foundation: dict) -> None:
    """No key in code or state, and no placeholder version Terraform could write over a key."""
    secrets = resources(foundation, "aws_secretsmanager_secret")
    assert sorted(s["name"] for s in secrets) == sorted(
        f"cloudagent-dev/provider/{p}" for p in PROVIDERS
    )
    assert all(s["kms_key_id"].startswith("${aws_kms_key.") for s in secrets)
    assert resources(foundation, "aws_secretsmanager_secret_version") == []


def test_vpc_spans_two_azs_with_private_and_public_subnets(foundation: dict) -> None:
    vpc = one(foundation, "aws_vpc")
    assert vpc["cidr_block"] == SETTINGS.vpc_cidr
    assert vpc["enable_dns_hostnames"] is True and vpc["enable_dns_support"] is True
    subnets = resources(foundation, "aws_subnet")
    tiers = {"public": [], "private": []}
    for subnet in subnets:
        tiers[subnet["tags"]["Tier"]].append(subnet)
    assert len(tiers["public"]) == 2 and len(tiers["private"]) == 2
    network = ipaddress.IPv4Network(SETTINGS.vpc_cidr)
    cidrs = [ipaddress.IPv4Network(s["cidr_block"]) for s in subnets]
    assert all(c.subnet_of(network) for c in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])
    for tier in tiers.values():
        # One subnet of each tier per AZ: element(<zones>, 0) and element(<zones>, 1).
        azs = sorted(s["availability_zone"] for s in tier)
        assert [az[-5:] for az in azs] == [", 0)}", ", 1)}"], azs
    assert all(s.get("map_public_ip_on_launch") is False for s in tiers["public"])


def test_gateway_endpoints_for_s3_and_dynamodb(foundation: dict) -> None:
    endpoints = resources(foundation, "aws_vpc_endpoint")
    assert sorted(e["service_name"] for e in endpoints) == [
        "com.amazonaws.us-east-1.dynamodb",
        "com.amazonaws.us-east-1.s3",
    ]
    assert all(e["vpc_endpoint_type"] == "Gateway" for e in endpoints)
    # The public route table and both private ones: free, whichever subnets tasks run in.
    assert all(len(e["route_table_ids"]) == 3 for e in endpoints)


ACCOUNT = "${data.aws_caller_identity.account.account_id}"
PARTITION = "${data.aws_partition.partition.partition}"


def _endpoint_policy(foundation: dict, service: str) -> dict[str, dict]:
    [endpoint] = [
        e for e in resources(foundation, "aws_vpc_endpoint") if e["service_name"].endswith(service)
    ]
    return {s["Sid"]: s for s in json.loads(endpoint["policy"])["Statement"]}


def test_the_s3_endpoint_passes_ecr_layers_and_this_deployments_artifacts_only(
    foundation: dict, stacks: dict[str, dict]
) -> None:
    """Tasks reach S3 in the region for two things: pulling the image's layers (ECR's own
    bucket, an AWS account's) and the presigned session/bundle URLs (the artifact bucket, in
    this account). Nothing else passes: no other bucket of this region, of any account."""
    statements = _endpoint_policy(foundation, ".s3")
    assert set(statements) == {"EcrImageLayers", "ArtifactObjects"}
    layers = statements["EcrImageLayers"]
    assert (layers["Principal"], layers["Action"]) == ("*", ["s3:GetObject"])
    assert layers["Resource"] == [f"arn:{PARTITION}:s3:::prod-us-east-1-starport-layer-bucket/*"]
    assert "Condition" not in layers  # the bucket is AWS's, not this account's
    artifacts = statements["ArtifactObjects"]
    bucket = one(stacks["api"], "aws_s3_bucket")["bucket"]
    assert artifacts["Resource"] == [f"arn:{PARTITION}:s3:::{bucket}/*"]
    assert artifacts["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert artifacts["Condition"] == {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}


def test_the_dynamodb_endpoint_passes_the_run_table_of_this_account_only(foundation: dict) -> None:
    """Nothing in the VPC uses DynamoDB (the control functions run outside it): the endpoint
    lets through no more than the run table, in this account."""
    [table] = _endpoint_policy(foundation, ".dynamodb").values()
    assert table["Principal"] == "*"
    assert table["Condition"] == {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}
    base = f"arn:{PARTITION}:dynamodb:us-east-1:{ACCOUNT}:table/cloudagent-dev"
    assert table["Resource"] == [base, f"{base}/index/by_time"]
    assert not any(a.startswith("dynamodb:Delete") or "*" in a for a in table["Action"])


def test_flow_logs_and_closed_default_security_group(foundation: dict) -> None:
    flow = one(foundation, "aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    assert flow["log_destination"].startswith("${aws_cloudwatch_log_group.")
    default_sg = one(foundation, "aws_default_security_group")
    assert default_sg["ingress"] == [] and default_sg["egress"] == []


def test_cluster_has_enhanced_insights_and_exec_logging(foundation: dict) -> None:
    cluster = one(foundation, "aws_ecs_cluster")
    assert cluster["name"] == "cloudagent-dev"
    assert {"name": "containerInsights", "value": "enhanced"} in cluster["setting"]
    exec_config = cluster["configuration"]["execute_command_configuration"]
    assert exec_config["logging"] == "OVERRIDE"
    assert exec_config["log_configuration"]["cloud_watch_encryption_enabled"] is True
    assert exec_config["log_configuration"]["cloud_watch_log_group_name"].startswith(
        "${aws_cloudwatch_log_group."
    )


def test_cluster_has_both_fargate_capacity_providers_on_demand_by_default(
    foundation: dict,
) -> None:
    """Spot is associated whatever `capacity` says, so changing it never touches the cluster."""
    providers = one(foundation, "aws_ecs_cluster_capacity_providers")
    assert providers["cluster_name"].startswith("${aws_ecs_cluster.")
    assert sorted(providers["capacity_providers"]) == ["FARGATE", "FARGATE_SPOT"]
    assert providers["default_capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE", "weight": 1}
    ]


def test_repository_is_immutable_scanned_encrypted_and_keeps_ten(foundation: dict) -> None:
    repository = one(foundation, "aws_ecr_repository")
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == {"scan_on_push": True}
    assert repository["encryption_configuration"][0]["encryption_type"] == "KMS"
    [rule] = json.loads(one(foundation, "aws_ecr_lifecycle_policy")["policy"])["rules"]
    assert rule["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 10,
    }
    assert rule["action"] == {"type": "expire"}


def test_every_log_group_keeps_14_days_encrypted(stacks: dict[str, dict]) -> None:
    groups = [
        g for name in STACK_NAMES for g in resources(stacks[name], "aws_cloudwatch_log_group")
    ]
    assert groups
    for group in groups:
        assert group["retention_in_days"] == LOG_RETENTION_DAYS, group["name"]
        assert group["kms_key_id"], group["name"]


def test_outputs_for_later_stacks(foundation: dict) -> None:
    outputs = set(foundation["output"])
    assert {
        "table_name",
        "table_arn",
        "provider_secret_arns",
        "task_subnet_ids",
        "public_subnet_ids",
        "private_subnet_ids",
        "vpc_id",
        "cluster_arn",
        "repository_url",
        "exec_log_group_name",
        "kms_key_arn",
    } <= outputs
