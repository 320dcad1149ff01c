"""CKV_CA_13: resource policies (KMS key policies first) grant only to named principals.

A key policy's `Resource` is `"*"` by AWS's rules (it means "this key"), so CKV_CA_3 cannot hold
it to ARNs; what bounds a resource policy is *who* it names. An Allow with `Principal: "*"`
(or `{"AWS": "*"}`) or with `NotPrincipal` opens the resource to every AWS account, so it fails.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import (
    RESOURCE_POLICY_ATTRS,
    ProjectCheck,
    policy_statements,
    principals,
)


class ResourcePoliciesNamePrincipals(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="KMS key and other resource policies allow only named principals "
            "(no Principal '*', no NotPrincipal)",
            id="CKV_CA_13",
            resources=sorted(RESOURCE_POLICY_ATTRS),
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
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
                if value == "*":
                    found.append(f"{statement.name}: {kind} principal '*' is every account")
        return found


check = ResourcePoliciesNamePrincipals()
