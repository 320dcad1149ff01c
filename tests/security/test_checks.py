"""Every project check fails on its planted violation and passes on the real synth.

Each case breaks one real resource in a copy of the synthesized stack (see planting.py) and
runs the check class directly on it, as Checkov's terraform_json parser would hand it over;
test_checkov_cli.py runs the same cases through the real `checkov` command.
"""

from __future__ import annotations

from typing import Any

import pytest
from checkov.common.models.enums import CheckResult

from tests.support.checkov import ALL_IDS
from tests.support.planting import PLANTS, Plant, checkov_conf, locate, planted


def test_every_project_check_is_loaded_with_a_stated_guarantee(checks: dict[str, Any]) -> None:
    assert sorted(checks) == sorted(ALL_IDS)
    for check in checks.values():
        assert len(check.name) > 30, check.id  # the name states the guarantee


def test_every_project_check_has_a_planted_violation() -> None:
    assert {p.check for p in PLANTS} == set(ALL_IDS)


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.case)
def test_planted_violation_fails_that_check(
    plant: Plant, stacks: dict[str, dict], checks: dict[str, Any]
) -> None:
    check = checks[plant.check]
    doc, name = locate(stacks[plant.stack], plant)
    clean = doc["resource"][plant.resource_type][name]
    result, details = check.evaluate(checkov_conf(clean), plant.resource_type)
    assert result == CheckResult.PASSED, details

    doc, name = planted(stacks[plant.stack], plant)
    broken = doc["resource"][plant.resource_type][name]
    result, details = check.evaluate(checkov_conf(broken), plant.resource_type)
    assert result == CheckResult.FAILED
    assert any(plant.detail in line for line in details), details


def test_every_project_check_passes_on_every_real_resource(
    stacks: dict[str, dict], checks: dict[str, Any]
) -> None:
    """The unmodified synth keeps every guarantee, and each check judges something real."""
    judged: dict[str, int] = {}
    failures = []
    for stack, doc in stacks.items():
        for resource_type, resources in doc.get("resource", {}).items():
            for check in checks.values():
                if resource_type not in check.supported_resources:
                    continue
                for name, body in resources.items():
                    result, details = check.evaluate(checkov_conf(body), resource_type)
                    if result == CheckResult.FAILED:
                        failures.append(f"{check.id} {stack}/{resource_type}.{name}: {details}")
                    if result == CheckResult.PASSED:
                        judged[check.id] = judged.get(check.id, 0) + 1
    assert not failures, "\n".join(failures)
    assert set(judged) == set(ALL_IDS), f"checks that judged nothing: {set(ALL_IDS) - set(judged)}"


def test_oidc_check_reads_the_subject_from_settings(
    stacks: dict[str, dict], checks: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synth for one environment does not pass for another: the subject is configuration."""
    plant = next(p for p in PLANTS if p.check == "CKV_CA_1")
    doc, name = locate(stacks[plant.stack], plant)
    role = doc["resource"]["aws_iam_role"][name]
    monkeypatch.setenv("CLOUDAGENT_GITHUB_ENVIRONMENT", "production")
    result, details = checks["CKV_CA_1"].evaluate(checkov_conf(role), "aws_iam_role")
    assert result == CheckResult.FAILED
    assert any("environment:production" in line for line in details), details


def test_checks_say_unknown_for_values_known_only_after_apply(checks: dict[str, Any]) -> None:
    """In a plan, Checkov puts the reference text where an unknown policy would be."""
    conf = {"name": ["x-policy"], "policy": ["aws_iam_role.x.arn"], "__change_actions__": []}
    result, details = checks["CKV_CA_2"].evaluate(conf, "aws_iam_role_policy")
    assert result == CheckResult.UNKNOWN
    assert "not known until apply" in details[0]


@pytest.mark.parametrize(
    ("resource", "bare"),
    [
        ("arn:aws:kms:us-east-1:1:key/*", True),
        ("arn:${data.aws_partition.p.partition}:kms:us-east-1:${data.x.account_id}:key/*", True),
        ("arn:aws:cloudfront::1:distribution/*", True),
        ("arn:aws:apigateway:us-east-1::/restapis/*", True),
        ("arn:aws:ec2:us-east-1:1:*", True),
        ("arn:aws:ec2:us-east-1:1:security-group/*", True),
        ("arn:aws:wafv2:us-east-1:*:global/managedruleset/*/*", True),
        ("arn:aws:s3:::*", True),
        ("arn:aws:iam::1:role/cloudagent-dev-*", False),
        ("arn:aws:logs:us-east-1:1:log-group:/cloudagent/dev/*", False),
        ("arn:aws:logs:us-east-1:1:log-group:aws-waf-logs-cloudagent-dev:*", False),
        ("arn:aws:dynamodb:us-east-1:1:table/cloudagent-dev/index/*", False),
        ("arn:aws:wafv2:us-east-1:*:global/managedruleset/AWSManagedRules*/*", False),
        ("arn:aws:s3:::state-bucket/*", False),
        ("arn:aws:ec2:us-east-1:1:security-group/${aws_vpc.v.default_security_group_id}", False),
        ("arn:aws:kms:us-east-1:1:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("*", False),  # CKV_CA_3's
    ],
)
def test_ckv_ca_20_tells_a_type_wildcard_from_a_named_scope(resource: str, bare: bool) -> None:
    from security.checks.ckv_ca_20_iam_writes_on_unnamed_resources_tag_scoped import (
        names_no_resource,
    )

    assert names_no_resource(resource) is bare
