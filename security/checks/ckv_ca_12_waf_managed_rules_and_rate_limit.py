"""CKV_CA_12: every WAFv2 web ACL enforces AWS's managed rule groups and a rate-based rule.

Required: AWSManagedRulesCommonRuleSet (OWASP-style request inspection),
AWSManagedRulesKnownBadInputsRuleSet (exploit payloads such as Log4Shell) and
AWSManagedRulesAmazonIpReputationList (known-bad sources), each with `override_action none` —
`count` would only watch — plus a `rate_based_statement` rule that blocks, so one client cannot
start tasks faster than the concurrency cap can refuse them.

A group's rules are enforced as AWS ships them: no `rule_action_override`, but one. The
Common set's `SizeRestrictions_BODY` (bodies over 8 KB) may count, because the control API
accepts bodies up to 64 KiB (a long prompt) and refuses larger ones itself (413). Counting any
other rule, or letting that one allow, would only watch what it should stop.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, Unknown, block, blocks, plain, unwrap
from stacks.shared.constants import COMMON_BODY_SIZE_RULE

REQUIRED_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


# The one rule of a required group that may count instead of block (see above).
COUNTABLE = {("AWSManagedRulesCommonRuleSet", COMMON_BODY_SIZE_RULE)}


def _present(value: Any) -> bool:
    """An action block is set when it is there: `{}` in synth, `[{}]` in a plan, not `[]`."""
    value = unwrap(value)
    if value is None:
        return False
    if isinstance(value, list):
        return len(value) > 0
    return True


class WafManagedRulesAndRateLimit(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="WAFv2 web ACLs enforce AWS managed groups Common, KnownBadInputs and "
            "AmazonIpReputationList, and a blocking rate-based rule",
            id="CKV_CA_12",
            resources=["aws_wafv2_web_acl"],
            categories=[CheckCategories.NETWORKING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        if "rule" not in conf:
            return ["the web ACL has no rules"]
        rules = blocks(conf["rule"])
        if not rules and isinstance(conf["rule"], str):
            raise Unknown("rules not known until apply")
        found: list[str] = []
        enforced: set[str] = set()
        rate_limited = False
        for rule in rules:
            statement = block(rule.get("statement"))
            managed = block(statement.get("managed_rule_group_statement"))
            override = block(rule.get("override_action"))
            action = block(rule.get("action"))
            if managed:
                group = str(unwrap(managed.get("name")))
                if unwrap(managed.get("vendor_name")) != "AWS":
                    continue
                if _present(override.get("count")):
                    found.append(f"managed group {group} only counts (override_action count)")
                else:
                    enforced.add(group)
                found += _overrides(group, managed)
            if block(statement.get("rate_based_statement")):
                if _present(action.get("block")):
                    rate_limited = True
                else:
                    found.append(f"rate-based rule {unwrap(rule.get('name'))!r} does not block")
        for group in REQUIRED_GROUPS:
            if group not in enforced:
                found.append(f"AWS managed rule group {group} is not enforced")
        if not rate_limited:
            found.append("no blocking rate-based rule")
        return found


def _overrides(group: str, managed: dict[str, Any]) -> list[str]:
    """Every override of a rule inside the group but the one that may count."""
    found = []
    for override in blocks(managed.get("rule_action_override")):
        rule = str(unwrap(override.get("name")))
        # A plan lists every action key, the unset ones empty: only the set ones count.
        action = {
            k: v for k, v in plain(block(override.get("action_to_use"))).items() if _present(v)
        }
        if (group, rule) in COUNTABLE and set(action) == {"count"}:
            continue
        kind = ", ".join(sorted(action)) or "nothing"
        found.append(f"managed group {group} overrides its rule {rule} to {kind}")
    return found


check = WafManagedRulesAndRateLimit()
