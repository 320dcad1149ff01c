"""CKV_CA_22: a role an AWS service assumes trusts it only on behalf of this account.

A trust that names a service principal alone (`lambda.amazonaws.com`) lets that service assume
the role for *any* account's resource that names the role's ARN: the cross-service confused
deputy. Every service trust therefore pins `aws:SourceAccount` with `StringEquals` to one
account (ECS tasks and VPC Flow Logs add `aws:SourceArn`; Lambda gets the account only, see
`stacks/shared/arns.py`, `Arns.source_account_condition`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import ProjectCheck, Unknown, as_list, policy_statements, principals

SOURCE_ACCOUNT = "aws:sourceaccount"


def pinned_accounts(conditions: dict[str, Any]) -> list[str] | None:
    """The values `StringEquals` gives `aws:SourceAccount` (None when it is not pinned so)."""
    for operator, keys in conditions.items():
        if operator != "StringEquals" or not isinstance(keys, dict):
            continue
        for key, value in keys.items():
            if key.lower() == SOURCE_ACCOUNT:
                return [str(v) for v in as_list(value)]
    return None


class ServiceTrustSourceAccount(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Roles trusted by an AWS service pin aws:SourceAccount (StringEquals, one "
            "account) against the confused deputy",
            id="CKV_CA_22",
            resources=["aws_iam_role"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        service_statements = [
            s
            for s in policy_statements(conf, self.entity_type)
            if s.allows and any(kind == "Service" for kind, _ in principals(s.principal))
        ]
        if not service_statements:
            raise Unknown("no AWS service assumes the role")
        found: list[str] = []
        for statement in service_statements:
            services = sorted(v for k, v in principals(statement.principal) if k == "Service")
            accounts = pinned_accounts(statement.conditions)
            if accounts is None:
                found.append(
                    f"{statement.name}: {', '.join(services)} may assume it for any account "
                    "(no StringEquals aws:SourceAccount)"
                )
            elif len(accounts) != 1 or accounts[0] in ("", "*"):
                found.append(f"{statement.name}: aws:SourceAccount is {accounts}, not one account")
        return found


check = ServiceTrustSourceAccount()
