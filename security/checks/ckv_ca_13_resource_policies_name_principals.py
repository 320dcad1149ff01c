"""CKV_CA_13: resource policies grant only to named principals, endpoint policies only in scope.

A key policy's `Resource` is `"*"` by AWS's rules (it means "this key"), so CKV_CA_3 cannot hold
it to ARNs; what bounds a resource policy is *who* it names. An Allow with `Principal: "*"`
(or `{"AWS": "*"}`) or with `NotPrincipal` opens the resource to every AWS account, so it fails.

A VPC endpoint's policy is the exception that proves the rule: its callers are whoever runs in
the VPC, so its principal is `"*"` by design, and what scopes it is *what* it reaches. There an
Allow for `"*"` must carry `aws:ResourceAccount` (StringEquals, one account, no wildcard) —
the resources of this account only — or be exactly the read of ECR's layer bucket
(`s3:GetObject` on `prod-<region>-starport-layer-bucket/*`, an AWS account's bucket the image
pull needs). A gateway endpoint without a policy passes anything and fails too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import (
    RESOURCE_POLICY_ATTRS,
    ProjectCheck,
    Statement,
    Unknown,
    as_list,
    attr,
    policy_statements,
    principals,
)

ENDPOINT = "aws_vpc_endpoint"
ECR_LAYERS = re.compile(r"^arn:[^:]+:s3:::prod-[a-z0-9-]+-starport-layer-bucket/\*$")


def _account_scoped(statement: Statement) -> bool:
    """StringEquals aws:ResourceAccount on one account, not a pattern."""
    equals = statement.conditions.get("StringEquals") or {}
    accounts = [str(a) for a in as_list(equals.get("aws:ResourceAccount"))]
    return len(accounts) == 1 and "*" not in accounts[0] and "?" not in accounts[0]


def _ecr_layers_only(statement: Statement) -> bool:
    return (
        set(statement.actions) == {"s3:GetObject"}
        and bool(statement.resources)
        and all(ECR_LAYERS.match(r) for r in statement.resources)
    )


class ResourcePoliciesNamePrincipals(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="KMS key and other resource policies allow only named principals "
            "(no Principal '*', no NotPrincipal); VPC endpoint policies allow '*' only on "
            "this account's resources (aws:ResourceAccount) or ECR's layer bucket",
            id="CKV_CA_13",
            resources=sorted(RESOURCE_POLICY_ATTRS),
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        endpoint = self.entity_type == ENDPOINT
        if endpoint and "policy" not in conf:
            if str(attr(conf, "vpc_endpoint_type", "Gateway")) != "Gateway":
                raise Unknown("an interface endpoint without a policy")
            return ["a gateway endpoint without a policy passes anything to any account"]
        found: list[str] = []
        for statement in policy_statements(conf, self.entity_type):
            if not statement.allows:
                continue
            if statement.not_principal is not None:
                found.append(f"{statement.name}: NotPrincipal in an Allow")
            named = list(principals(statement.principal))
            if not named:
                found.append(f"{statement.name}: names no principal")
            for kind, value in named:
                if value != "*":
                    continue
                if not endpoint:
                    found.append(f"{statement.name}: {kind} principal '*' is every account")
                elif not (_account_scoped(statement) or _ecr_layers_only(statement)):
                    found.append(
                        f"{statement.name}: principal '*' through the endpoint without "
                        "aws:ResourceAccount (one account): any account's resources"
                    )
        return found


check = ResourcePoliciesNamePrincipals()
