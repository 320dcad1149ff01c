"""The one place a parliament finding on this project's IAM documents may be kept, with why.

`security.iam_lint` runs parliament over every policy document the stacks synthesize; any finding
not matched here fails the scan and the tests. An entry matches on the finding's issue code, the
document's address (`<stack>/<resource type>.<name>#<attribute>`, a regular expression) and,
optionally, a fragment of the finding's detail. Keep entries narrow and give the reason.

`RESOURCE_STAR` is handled by rule rather than by entry: it is kept only when every action it
names is on `stacks/shared/star_only_actions.py` (where each action's reason lives), or when the
document is a KMS key policy, whose `Resource` AWS requires to be `"*"` (meaning "this key").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from stacks.shared.constants import GITHUB_OIDC_HOST
from stacks.shared.star_only_actions import STAR_ONLY_ACTIONS


@dataclass(frozen=True)
class AllowedFinding:
    issue: str
    address: str  # regular expression, matched with re.search
    reason: str
    detail: str = ""  # substring of the finding's detail; empty matches any


KMS_KEY_POLICY = r"/aws_kms_key\.[^#]+#policy$"

ALLOWED_FINDINGS: tuple[AllowedFinding, ...] = (
    AllowedFinding(
        issue="RESOURCE_STAR",
        address=KMS_KEY_POLICY,
        reason="a key policy is attached to its key; AWS requires Resource '*' there and it means "
        "this key only (who may use it is bounded by named principals, CKV_CA_13)",
    ),
    AllowedFinding(
        issue="RESOURCE_MISMATCH",
        address=r"/aws_iam_policy\.github_deploy_network_[^#]+#policy$",
        detail="arn:*:ec2:*:*:",
        reason="parliament's bundled Service Authorization data predates the created types of "
        "these EC2 creates (CreateSubnet/CreateRouteTable/CreateNatGateway/CreateVpcEndpoint "
        "authorize the new subnet, route table, NAT gateway or endpoint as well as their parent); "
        "each create is allowed only on its new type (tagged.py EC2_CREATES_BY_TYPE), the parent "
        "through `Network`; the IAM evaluator's current data judges both "
        "(tests/support/iam_cases/deploy.py: new-subnet-tagged-ours, new-subnet-into-our-vpc)",
    ),
    AllowedFinding(
        issue="UNKNOWN_FEDERATION_SOURCE",
        address=r"/aws_iam_role\.[^#]+#assume_role_policy$",
        detail=f":oidc-provider/{GITHUB_OIDC_HOST}",
        reason="parliament knows only Cognito, Amazon, Facebook, Google and SAML federation; an "
        "IAM OIDC provider ARN is the documented principal for GitHub Actions (pinned by CKV_CA_1)",
    ),
    AllowedFinding(
        issue="MISMATCHED_TYPE",
        address=KMS_KEY_POLICY,
        detail="requires a value of type Arn but given String",
        reason="parliament types kms:EncryptionContext:* keys as String; AWS's documented key "
        "policy for encrypted CloudWatch Logs compares kms:EncryptionContext:aws:logs:arn with "
        "ArnLike/ArnEquals (docs: encrypt-log-data-kms)",
    ),
    AllowedFinding(
        issue="MISMATCHED_TYPE_BUT_USABLE",
        address=r"/aws_iam_(role_policy|policy)\.github_(deploy_role_policy|boundary)_",
        detail="requires a value of type String but given Arn",
        reason="iam:PermissionsBoundary is compared to the boundary's full ARN with StringEquals/"
        "StringNotEquals, as AWS's permissions-boundary delegation example does; an exact string "
        "match of the whole ARN is as strict as ArnEquals",
    ),
    AllowedFinding(
        issue="RESOURCE_MISMATCH",
        address=r"^foundation/aws_iam_policy\.github_deploy_tagged_[^#]+#policy$",
        detail='"action": "kms:CreateAlias", "required_format"',
        reason="an alias write authorizes against the alias and the key separately; the key side "
        "is tag-scoped (ProjectKeys), the alias side by name (ProjectKeyAliases), because an "
        "alias carries no tags and a tag condition there would refuse every alias write",
    ),
    AllowedFinding(
        issue="RESOURCE_POLICY_PRIVILEGE_ESCALATION",
        address=r"^foundation/aws_iam_role_policy\.github_deploy_role_policy_[^#]+#policy$",
        detail="-artifacts-",
        reason="the deploy role sets the artifact bucket's policy (deny-only, stacks/api/"
        "artifacts.py; CKV_CA_26 holds it to TLS-only), so it could write one that grants itself "
        "the objects; that reaches nothing it cannot already reach by deploying the control "
        "functions' code, which runs as the one role that reads them (docs/ARCHITECTURE.md §6.3)",
    ),
    AllowedFinding(
        issue="UNKNOWN_CONDITION_FOR_ACTION",
        address=KMS_KEY_POLICY,
        detail="kms:EncryptionContext:aws:logs:arn for action kms:DescribeKey",
        reason="AWS's documented CloudWatch Logs key policy grants kms:Describe* under the same "
        "encryption-context condition; DescribeKey carries no context, so the condition only "
        "narrows it (never widens). Cleaner: drop DescribeKey from the logs statement",
    ),
)

STAR_ONLY_REASON = "every action is on stacks/shared/star_only_actions.py, each with its reason"


def star_only(detail: str) -> bool:
    """A RESOURCE_STAR finding whose actions are all ones AWS accepts only at '*'."""
    try:
        actions = json.loads(detail)
    except json.JSONDecodeError:
        return False
    return (
        isinstance(actions, list)
        and bool(actions)
        and all(str(a) in STAR_ONLY_ACTIONS for a in actions)
    )
