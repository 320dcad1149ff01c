"""`make cost`: the defaults idle within budget, and nothing synthesized goes unpriced."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from devtools.cost import COST_DOC, doc_block, main, render, shown_block
from devtools.costing import (
    UnpricedError,
    agent_hours,
    idle_lines,
    idle_total,
    missing_prices,
    report,
)
from stacks.shared.prices import task_hourly_cost_usd
from stacks.shared.resource_prices import (
    HOURS_PER_MONTH,
    NAT_GATEWAY_HOURLY_USD,
    PUBLIC_IPV4_HOURLY_USD,
    RESOURCE_PRICES,
)
from stacks.shared.setting_loader import load_settings
from tests.support.synthesized import VARIANTS

IDLE_BUDGET_USD = 15.0  # docs/ARCHITECTURE.md §9


@pytest.fixture(scope="module")
def nat_stacks(variant_stacks) -> dict[str, dict]:
    """The session's `nat` configuration (two NAT gateways; tests/conftest.py VARIANTS), so the
    suite synthesizes it once."""
    return variant_stacks("nat_observe")


def _monthly(lines, resource_type: str) -> float:
    return sum(line.monthly_usd for line in lines if line.resource_type == resource_type)


def _with(stacks: dict[str, dict], stack: str, kind: str, name: str, block: dict) -> dict:
    planted = copy.deepcopy(stacks)
    planted[stack].setdefault("resource", {}).setdefault(kind, {})[name] = block
    return planted


def test_the_default_deployment_idles_within_budget(stacks: dict[str, dict]) -> None:
    lines = idle_lines(stacks)
    priced = [(line.stack, line.resource_type, line.monthly_usd) for line in lines]
    assert idle_total(lines) <= IDLE_BUDGET_USD, priced
    # And in the steady state: from the third year KMS charges each key's two rotations.
    assert idle_total(lines, later=True) <= IDLE_BUDGET_USD, priced


def test_the_artifact_bucket_costs_nothing_idle_and_brings_no_key(stacks: dict[str, dict]) -> None:
    """Storage and requests are use; it is encrypted with the foundation key, not a $1 key."""
    s3 = [line for line in idle_lines(stacks) if line.resource_type.startswith("aws_s3_")]
    assert {line.resource_type for line in s3} == {
        "aws_s3_bucket",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
    }
    assert all(line.stack == "api" and line.monthly_usd == 0 for line in s3), s3
    assert "$0.023/GB-month" in RESOURCE_PRICES["aws_s3_bucket"].basis
    keys = [line for line in idle_lines(stacks) if line.resource_type == "aws_kms_key"]
    assert [(line.stack, line.resources) for line in keys] == [("foundation", 1)]


def test_every_synthesized_resource_type_has_a_price(stacks: dict[str, dict]) -> None:
    assert missing_prices(stacks) == {}
    priced = {line.resource_type for line in idle_lines(stacks)}
    assert priced == {kind for doc in stacks.values() for kind in doc.get("resource", {})}
    for kind, price in RESOURCE_PRICES.items():
        assert price.source.startswith("https://"), kind
        assert price.basis, kind


def test_a_new_resource_type_without_a_price_fails(stacks: dict[str, dict]) -> None:
    planted = _with(stacks, "foundation", "aws_instance", "bastion", {"instance_type": "t3.micro"})
    assert missing_prices(planted) == {"foundation": ["aws_instance"]}
    with pytest.raises(UnpricedError, match="foundation: aws_instance"):
        idle_lines(planted)


def test_the_web_acl_is_priced_per_rule(stacks: dict[str, dict]) -> None:
    [acl] = stacks["api"]["resource"]["aws_wafv2_web_acl"].values()
    assert _monthly(idle_lines(stacks), "aws_wafv2_web_acl") == 5.0 + len(acl["rule"])
    paid = copy.deepcopy(stacks)
    [acl] = paid["api"]["resource"]["aws_wafv2_web_acl"].values()
    bot_control = {"name": "AWSManagedRulesBotControlRuleSet", "vendor_name": "AWS"}
    acl["rule"].append({"statement": {"managed_rule_group_statement": bot_control}})
    with pytest.raises(UnpricedError, match="AWSManagedRulesBotControlRuleSet"):
        idle_lines(paid)


def test_what_the_table_does_not_price_is_refused(stacks: dict[str, dict]) -> None:
    interface = {
        "service_name": "com.amazonaws.us-east-1.ecr.api",
        "vpc_endpoint_type": "Interface",
    }
    with pytest.raises(UnpricedError, match="vpc_endpoint_type is 'Interface'"):
        idle_lines(_with(stacks, "foundation", "aws_vpc_endpoint", "ecr", interface))
    provisioned = {"name": "t", "billing_mode": "PROVISIONED", "read_capacity": 5}
    with pytest.raises(UnpricedError, match="billing_mode is 'PROVISIONED'"):
        idle_lines(_with(stacks, "foundation", "aws_dynamodb_table", "t", provisioned))
    computed = {"name": "s", "count": "${var.n}"}
    with pytest.raises(UnpricedError, match="`count` is"):
        idle_lines(_with(stacks, "foundation", "aws_secretsmanager_secret", "s", computed))
    free = idle_total(idle_lines(_with(stacks, "foundation", "aws_iam_role", "r", computed)))
    assert free == idle_total(idle_lines(stacks))  # a free type's expression counts as one
    cron = {"schedule_expression": "cron(0 * * * ? *)"}
    with pytest.raises(UnpricedError, match="cannot count invocations"):
        idle_lines(_with(stacks, "api", "aws_cloudwatch_event_rule", "c", cron))


def test_counts_follow_count_and_schedules(stacks: dict[str, dict]) -> None:
    before = idle_lines(stacks)
    three = _with(stacks, "api", "aws_secretsmanager_secret", "extra", {"name": "x", "count": 3})
    added = _monthly(idle_lines(three), "aws_secretsmanager_secret")
    assert added == pytest.approx(_monthly(before, "aws_secretsmanager_secret") + 3 * 0.40)
    hourly = _with(
        stacks, "api", "aws_cloudwatch_event_rule", "h", {"schedule_expression": "rate(1 hour)"}
    )
    [line] = [
        line
        for line in idle_lines(hourly)
        if line.stack == "api" and line.resource_type == "aws_cloudwatch_event_rule"
    ]
    [before_line] = [
        line
        for line in before
        if line.stack == "api" and line.resource_type == "aws_cloudwatch_event_rule"
    ]
    assert line.units == pytest.approx(before_line.units + HOURS_PER_MONTH)


def test_nat_mode_costs_the_gateway_and_its_address_more(
    stacks: dict[str, dict], nat_stacks: dict[str, dict]
) -> None:
    public, nat = idle_lines(stacks), idle_lines(nat_stacks)
    gateways = int(VARIANTS["nat_observe"]["CLOUDAGENT_NAT_GATEWAY_COUNT"])
    assert _monthly(public, "aws_nat_gateway") == 0 and _monthly(public, "aws_eip") == 0
    assert _monthly(nat, "aws_nat_gateway") == pytest.approx(
        gateways * NAT_GATEWAY_HOURLY_USD * HOURS_PER_MONTH
    )
    assert _monthly(nat, "aws_eip") == pytest.approx(
        gateways * PUBLIC_IPV4_HOURLY_USD * HOURS_PER_MONTH
    )
    assert idle_total(nat) - idle_total(public) == pytest.approx(36.50 * gateways, abs=0.01)


def test_an_agent_hour_per_capacity_and_architecture() -> None:
    rows = {(r.capacity, r.architecture): r for r in agent_hours(load_settings(environ={}))}
    assert set(rows) == {(c, a) for c in ("on-demand", "spot") for a in ("X86_64", "ARM64")}
    assert rows["on-demand", "X86_64"].fargate_usd == pytest.approx(1.20, abs=0.01)
    assert rows["on-demand", "ARM64"].fargate_usd == pytest.approx(0.965, abs=0.01)
    for capacity in ("on-demand", "spot"):
        assert rows[capacity, "ARM64"].total_usd < rows[capacity, "X86_64"].total_usd
    for architecture in ("X86_64", "ARM64"):
        assert rows["spot", architecture].total_usd < rows["on-demand", architecture].total_usd
        assert rows["spot", architecture].fargate_usd == task_hourly_cost_usd(architecture, "spot")
    # Public mode pays an address per task-hour; nat mode pays its gateway in the idle month.
    assert {r.public_ipv4_usd for r in rows.values()} == {PUBLIC_IPV4_HOURLY_USD}
    assert [key for key, r in rows.items() if r.configured] == [("on-demand", "X86_64")]


def test_the_configured_options_are_marked() -> None:
    settings = load_settings(
        environ={
            "CLOUDAGENT_CAPACITY": "spot-then-on-demand",
            "CLOUDAGENT_AGENT_ARCHITECTURE": "ARM64",
            "CLOUDAGENT_NETWORK_MODE": "nat",
        }
    )
    rows = agent_hours(settings)
    assert {(r.capacity, r.architecture) for r in rows if r.configured} == {
        ("spot", "ARM64"),
        ("on-demand", "ARM64"),
    }
    assert all(r.public_ipv4_usd == 0 and r.total_usd == r.fargate_usd for r in rows)


def test_make_cost_prints_the_month_and_the_agent_hours(
    synth_local: Path, stacks: dict[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--no-synth", "--outdir", str(synth_local)]) == 0
    printed = capsys.readouterr().out
    total = idle_total(idle_lines(stacks))
    assert "total" in printed and f"${total:,.2f}" in printed
    assert "aws_wafv2_web_acl" in printed and "aws_iam_role " not in printed
    assert "$1.206*" in printed or "$1.201*" in printed
    assert main(["--no-synth", "--outdir", str(synth_local), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["idle"]["monthly_usd"] == total
    assert data["idle"]["later_monthly_usd"] > total  # KMS rotations add to the key price


def test_make_cost_without_a_synth_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--no-synth", "--outdir", str(tmp_path)]) == 2
    assert "run without --no-synth" in capsys.readouterr().err


def test_the_operations_doc_shows_the_default_cost(stacks: dict[str, dict]) -> None:
    shown = shown_block(COST_DOC.read_text())
    expected = doc_block(render(report(stacks, load_settings(environ={}))))
    assert shown == expected, "docs/OPERATIONS.md cost table is stale: devtools.cost --write-doc"
