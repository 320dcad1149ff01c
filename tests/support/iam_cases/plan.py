"""The plan role (pull-request code): it reads this environment's resources to refresh them,
not every team's in the account (issue 23), and it never reads a provider key."""

from __future__ import annotations

from security.iam_eval.requests import Request
from tests.support.iam_cases import ACCOUNT, OTHER_TEAM, OURS, PREFIX, Case, arn

ROLE = "github-plan"
DISTRIBUTION = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2QWRUHEXAMPLE"
REST_API = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5"
RULE_GROUP = arn("route53resolver", "firewall-rule-group/rslvr-frg-0123456789abcdef")
VPC = arn("ec2", "vpc/vpc-0f0e0d0c0b0a09080")
KEY_READ = "kms:GetKeyPolicy"


def _pair(case_id: str, action: str, resource: str, **extra) -> list[Case]:
    """The read on this environment's resource (allowed) and on another team's (denied)."""
    return [
        Case(
            f"plan-reads-our-{case_id}",
            ROLE,
            Request(action, resource, resource_tags=OURS),
            True,
            by="ReadTaggedProjectResources",
            **extra,
        ),
        Case(
            f"plan-reads-another-teams-{case_id}",
            ROLE,
            Request(action, resource, resource_tags=OTHER_TEAM),
            False,
            **extra,
        ),
    ]


CASES = [
    *_pair("key-policy", KEY_READ, arn("kms", "key/x"), key_policy=True),
    *_pair("distribution-config", "cloudfront:GetDistributionConfig", DISTRIBUTION),
    *_pair("rest-api", "apigateway:GET", REST_API),
    *_pair("firewall-rule-group", "route53resolver:GetFirewallRuleGroup", RULE_GROUP),
    *_pair("vpc-attributes", "ec2:DescribeVpcAttribute", VPC),
    Case(
        "plan-reads-a-provider-key",
        ROLE,
        Request(
            "secretsmanager:GetSecretValue",
            arn("secretsmanager", f"secret:{PREFIX}/provider/openai-AbCdEf"),
        ),
        False,
    ),
    # Accepted (docs/ARCHITECTURE.md §6.3): the api state holds the value in any case.
    Case(
        "plan-reads-the-origin-verify-value",
        ROLE,
        Request(
            "secretsmanager:GetSecretValue",
            arn("secretsmanager", f"secret:{PREFIX}/origin-verify-AbCdEf"),
        ),
        True,
        by="ReadOriginVerifyValue",
    ),
]
