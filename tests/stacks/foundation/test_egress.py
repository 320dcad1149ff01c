"""The DNS Firewall in every `egress_mode`: enforce (default), observe, off.

Default synth: enforce, no per-run domains. `nat_observe`: observe with per-run domains.
`egress_off`: no firewall. Resources moto cannot create are planned, not applied, by `make up`
(devtools/plan_only.py, PLAN_ONLY_TYPES); their JSON is asserted here and scanned by CKV_CA_19.
"""

from __future__ import annotations

import pytest

from stacks.foundation.egress import allowed_domains
from stacks.shared.artifacts import artifact_bucket_host
from stacks.shared.egress import (
    CATCH_ALL_PRIORITY,
    aws_endpoint_domains,
)
from stacks.shared.setting_loader import load_settings
from stacks.shared.settings import DEFAULT_EGRESS_DOMAINS
from tests.support.synthesized import one, resources

FIREWALL_TYPES = (
    "aws_route53_resolver_firewall_domain_list",
    "aws_route53_resolver_firewall_rule_group",
    "aws_route53_resolver_firewall_rule",
    "aws_route53_resolver_firewall_rule_group_association",
    "aws_route53_resolver_firewall_config",
    "aws_route53_resolver_query_log_config",
    "aws_route53_resolver_query_log_config_association",
)


@pytest.fixture(scope="module")
def enforce(stacks) -> dict:
    return stacks["foundation"]


@pytest.fixture(scope="module")
def observe(variant_stacks) -> dict:
    return variant_stacks("nat_observe")["foundation"]


def _lists(foundation: dict) -> dict[str, dict]:
    return {
        d["name"]: d for d in resources(foundation, "aws_route53_resolver_firewall_domain_list")
    }


def _rules(foundation: dict) -> list[dict]:
    rules = resources(foundation, "aws_route53_resolver_firewall_rule")
    return sorted(rules, key=lambda r: r["priority"])


def _list_ref(foundation: dict, name: str) -> str:
    [key] = [
        k
        for k, v in foundation["resource"]["aws_route53_resolver_firewall_domain_list"].items()
        if v["name"] == name
    ]
    return f"${{aws_route53_resolver_firewall_domain_list.{key}.id}}"


def test_enforce_allows_the_list_and_answers_nxdomain_to_everything_else(enforce) -> None:
    lists = _lists(enforce)
    assert set(lists) == {"cloudagent-dev-egress-allow", "cloudagent-dev-egress-all"}
    allowed = lists["cloudagent-dev-egress-allow"]["domains"]
    assert allowed[: len(DEFAULT_EGRESS_DOMAINS)] == list(DEFAULT_EGRESS_DOMAINS)
    assert lists["cloudagent-dev-egress-all"]["domains"] == ["*"]
    allow, deny = _rules(enforce)
    assert (allow["action"], allow["priority"]) == ("ALLOW", 100)
    assert allow["firewall_domain_list_id"] == _list_ref(enforce, "cloudagent-dev-egress-allow")
    assert deny["name"] == "cloudagent-dev-egress-deny-all"
    assert (deny["action"], deny["block_response"]) == ("BLOCK", "NXDOMAIN")
    assert deny["priority"] == CATCH_ALL_PRIORITY
    assert deny["firewall_domain_list_id"] == _list_ref(enforce, "cloudagent-dev-egress-all")


def test_the_aws_hosts_fargate_needs_are_allowed_by_exact_name(enforce) -> None:
    allowed = _lists(enforce)["cloudagent-dev-egress-allow"]["domains"]
    account = "${data.aws_caller_identity.account.account_id}"
    expected = aws_endpoint_domains("us-east-1", account)
    assert allowed[len(DEFAULT_EGRESS_DOMAINS) : -1] == expected
    assert "api.ecr.us-east-1.amazonaws.com" in allowed
    assert "secretsmanager.us-east-1.amazonaws.com" in allowed
    assert not any(d.startswith("*") and d.endswith("amazonaws.com") for d in allowed)
    assert f"{account}.dkr.ecr.us-east-1.amazonaws.com" in allowed


def test_the_artifact_bucket_is_allowed_by_its_one_regional_host(enforce, stacks) -> None:
    """The presigned URLs name `<bucket>.s3.<region>.amazonaws.com`: that name, last, and no
    other S3 name; the bucket the api stack creates is the one it names."""
    allowed = _lists(enforce)["cloudagent-dev-egress-allow"]["domains"]
    account = "${data.aws_caller_identity.account.account_id}"
    bucket = f"cloudagent-dev-artifacts-{account}-us-east-1"
    assert allowed[-1] == f"{bucket}.s3.us-east-1.amazonaws.com"
    assert one(stacks["api"], "aws_s3_bucket")["bucket"] == bucket
    s3_names = [d for d in allowed if ".s3." in d or d.startswith("s3.")]
    assert [d for d in s3_names if "starport-layer-bucket" not in d] == [allowed[-1]]
    assert not any("*" in d for d in s3_names)


def test_a_domain_the_setting_already_lists_is_not_listed_twice() -> None:
    settings = load_settings(environ={})
    host = artifact_bucket_host(settings, "123456789012")
    with_host = load_settings(environ={"CLOUDAGENT_EGRESS_ALLOW_DOMAINS": f"github.com,{host}"})
    domains = allowed_domains(with_host, "123456789012")
    assert domains.count(host) == 1 and domains[:2] == ["github.com", host]


def test_enforce_fails_closed_and_is_associated_after_every_rule(enforce) -> None:
    assert one(enforce, "aws_route53_resolver_firewall_config")["firewall_fail_open"] == "DISABLED"
    association = one(enforce, "aws_route53_resolver_firewall_rule_group_association")
    assert association["vpc_id"].startswith("${aws_vpc.")
    assert association["tags"] == {"EgressMode": "enforce"}
    rule_keys = enforce["resource"]["aws_route53_resolver_firewall_rule"]
    assert sorted(association["depends_on"]) == sorted(
        f"aws_route53_resolver_firewall_rule.{key}" for key in rule_keys
    )


def test_queries_are_logged_to_a_project_log_group(enforce) -> None:
    groups = {g["name"]: g for g in resources(enforce, "aws_cloudwatch_log_group")}
    group = groups["/cloudagent/dev/dns-queries"]
    assert group["retention_in_days"] == 14 and group["kms_key_id"].startswith("${aws_kms_key.")
    config = one(enforce, "aws_route53_resolver_query_log_config")
    assert config["destination_arn"].startswith("${aws_cloudwatch_log_group.")
    association = one(enforce, "aws_route53_resolver_query_log_config_association")
    assert association["resource_id"].startswith("${aws_vpc.")


def test_without_run_domains_there_is_no_run_domain_list(enforce) -> None:
    assert "cloudagent-dev-run-domains" not in _lists(enforce)


def test_observe_only_alerts_fails_open_and_has_the_run_domain_list(observe) -> None:
    lists = _lists(observe)
    run_domains = lists["cloudagent-dev-run-domains"]
    assert run_domains["domains"] == []  # the control API fills it while runs run
    assert run_domains["lifecycle"] == {"ignore_changes": ["domains"]}
    allow, run_rule, alert = _rules(observe)
    assert (allow["action"], allow["priority"]) == ("ALLOW", 100)
    assert (run_rule["action"], run_rule["priority"]) == ("ALLOW", 200)
    assert run_rule["firewall_domain_list_id"] == _list_ref(observe, "cloudagent-dev-run-domains")
    assert alert["name"] == "cloudagent-dev-egress-alert-all"
    assert alert["action"] == "ALERT" and "block_response" not in alert
    assert alert["priority"] == CATCH_ALL_PRIORITY
    assert one(observe, "aws_route53_resolver_firewall_config")["firewall_fail_open"] == "ENABLED"
    association = one(observe, "aws_route53_resolver_firewall_rule_group_association")
    assert association["tags"] == {"EgressMode": "observe"}


@pytest.mark.parametrize("variant", ["enforce", "observe"])
def test_allow_rules_trust_redirection_chains_and_the_catch_all_inspects_them(
    variant: str, request: pytest.FixtureRequest
) -> None:
    """A listed host behind a CDN (a CNAME to a name the list does not hold) resolves: the
    allow rules trust the chain of the name asked for; the catch-all keeps inspecting."""
    rules = _rules(request.getfixturevalue(variant))
    *allows, catch_all = rules
    assert allows and all(r["action"] == "ALLOW" for r in allows)
    assert {r["firewall_domain_redirection_action"] for r in allows} == {"TRUST_REDIRECTION_DOMAIN"}
    assert catch_all["firewall_domain_redirection_action"] == "INSPECT_REDIRECTION_DOMAIN"


def test_off_creates_no_firewall_and_no_query_log(variant_stacks) -> None:
    foundation = variant_stacks("egress_off")["foundation"]
    for kind in FIREWALL_TYPES:
        assert resources(foundation, kind) == [], kind
    names = {g["name"] for g in resources(foundation, "aws_cloudwatch_log_group")}
    assert "/cloudagent/dev/dns-queries" not in names
