"""CKV_CA_15: IAM roles carry no `inline_policy` blocks and no managed-policy list.

Checkov does not read `inline_policy` blocks (docs/ARCHITECTURE.md §6), so a permission written
there would be
invisible to every IAM check here. Policies are separate `aws_iam_role_policy` resources
(`stacks.shared.iam.role_with_policy`); a role's `managed_policy_arns` would likewise attach
permissions no project check reads. Judged on the synthesized JSON only (see `problems`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import ProjectCheck, Unknown, attr, blocks, is_plan


class IamRoleNoInlinePolicy(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM roles have no inline_policy blocks or managed_policy_arns "
            "(policies are separate aws_iam_role_policy resources Checkov reads)",
            id="CKV_CA_15",
            resources=["aws_iam_role"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        if is_plan(conf):
            # The provider reads a role's inline policies back into the computed `inline_policy`
            # and `managed_policy_arns`, including those written as separate aws_iam_role_policy
            # resources, so a plan cannot tell them apart; the synthesized JSON can.
            raise Unknown("judged on the synthesized configuration, not on a plan")
        found = []
        inline = [b for b in blocks(conf.get("inline_policy")) if b.get("policy") or b.get("name")]
        if inline:
            found.append(f"{len(inline)} inline_policy block(s) Checkov cannot read")
        if attr(conf, "managed_policy_arns"):
            found.append("managed_policy_arns attach policies no project check reads")
        return found


check = IamRoleNoInlinePolicy()
