"""CKV_CA_2: every Allow statement names its actions — no `*`, no `service:*`, no patterns.

A wildcard grants actions nobody reviewed, including ones AWS adds later. `stacks.shared.iam`
refuses them at synth; this check holds every policy in the output to the same rule, so a policy
written around the builder (or a resource policy such as a KMS key policy) cannot slip one in.
`NotAction` in an Allow statement grants everything *but* a list, so it fails too. Deny
statements may use wildcards: they only take permissions away.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import (
    ALL_POLICY_ATTRS,
    ProjectCheck,
    is_wildcard_action,
    policy_statements,
)


class IamActionsNamed(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM Allow statements name every action: no '*', no 'service:*', no wildcard "
            "pattern, no NotAction",
            id="CKV_CA_2",
            resources=sorted(ALL_POLICY_ATTRS),
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for statement in policy_statements(conf, self.entity_type):
            if not statement.allows:
                continue
            for action in statement.actions:
                if action == "*":
                    found.append(f"{statement.name}: Action '*' grants every action")
                elif action.endswith(":*"):
                    found.append(f"{statement.name}: '{action}' grants a whole service")
                elif is_wildcard_action(action):
                    found.append(f"{statement.name}: '{action}' is a wildcard pattern")
            if statement.not_actions:
                found.append(f"{statement.name}: NotAction in an Allow grants all other actions")
            if not statement.actions and not statement.not_actions:
                found.append(f"{statement.name}: names no action")
        return found


check = IamActionsNamed()
