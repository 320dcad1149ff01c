"""The `*`-only allow-list holds exactly what the stacks use at `Resource: "*"`.

An entry nothing uses is a latent widening: the policy builder and CKV_CA_3 would accept that
action at `*` in any future policy without anyone having justified it there.
"""

from __future__ import annotations

import json

from stacks.shared.constants import STACK_NAMES
from stacks.shared.star_only_actions import STAR_ONLY_ACTIONS

POLICY_RESOURCES = ("aws_iam_role_policy", "aws_iam_policy")


def actions_at_star(stacks: dict[str, dict]) -> set[str]:
    found: set[str] = set()
    for name in STACK_NAMES:
        for kind in POLICY_RESOURCES:
            for body in stacks[name].get("resource", {}).get(kind, {}).values():
                for statement in json.loads(body["policy"])["Statement"]:
                    if statement.get("Effect") != "Allow":
                        continue
                    resources = statement.get("Resource", [])
                    if "*" in ([resources] if isinstance(resources, str) else resources):
                        actions = statement["Action"]
                        found.update([actions] if isinstance(actions, str) else actions)
    return found


def test_every_star_only_action_is_used_and_every_star_action_is_listed(
    stacks: dict[str, dict],
) -> None:
    used = actions_at_star(stacks)
    assert used, "no statement at Resource '*' found: the reader is broken"
    assert set(STAR_ONLY_ACTIONS) - used == set(), "listed but unused: remove them"
    assert used - set(STAR_ONLY_ACTIONS) == set(), "used at '*' without a listed reason"


def test_a_planted_unlisted_action_at_star_is_seen(stacks: dict[str, dict]) -> None:
    import copy

    planted = copy.deepcopy(stacks)
    body = next(iter(planted["agent"]["resource"]["aws_iam_role_policy"].values()))
    policy = json.loads(body["policy"])
    policy["Statement"].append(
        {"Sid": "Planted", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    )
    body["policy"] = json.dumps(policy)
    assert actions_at_star(planted) - set(STAR_ONLY_ACTIONS) == {"s3:GetObject"}
