"""CKV_CA_3: `Resource: "*"` appears only next to actions AWS accepts only at `*`.

The allow-list is `stacks/shared/star_only_actions.py` (one entry per action, each with the
reason AWS offers no narrower resource); the policy builder and this check read the same list.

Scope: identity policies (role, user, group and managed policies). A KMS key policy is a
*resource* policy: its `Resource` must be `"*"` and means "this key", so it is deliberately out
of scope here; key policies are held instead to named actions (CKV_CA_2) and named principals
(CKV_CA_13). `NotResource` in an Allow grants everything but a list, so it fails.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import (
    IDENTITY_POLICY_ATTRS,
    ProjectCheck,
    matches_everything,
    policy_statements,
)
from stacks.shared.star_only_actions import STAR_ONLY_ACTIONS


class IamStarResourceOnlyForStarOnlyActions(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM Resource '*' only with actions AWS accepts only at '*' "
            "(stacks/shared/star_only_actions.py); no NotResource",
            id="CKV_CA_3",
            resources=sorted(IDENTITY_POLICY_ATTRS),
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for statement in policy_statements(conf, self.entity_type):
            if not statement.allows:
                continue
            if statement.not_resources:
                found.append(f"{statement.name}: NotResource in an Allow grants all other ARNs")
            if any(matches_everything(r) for r in statement.resources):
                loose = sorted(a for a in statement.actions if a not in STAR_ONLY_ACTIONS)
                if loose or statement.not_actions:
                    found.append(
                        f"{statement.name}: Resource '*' with {', '.join(loose) or 'NotAction'}, "
                        "which can be scoped to an ARN "
                        "(only stacks/shared/star_only_actions.py at '*')"
                    )
        return found


check = IamStarResourceOnlyForStarOnlyActions()
