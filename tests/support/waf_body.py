"""What the web ACL does with a request body of a given size, read from the synthesized ACL.

Only the rules that judge a body's size: the AWS Common rule set's `SizeRestrictions_BODY`
(AWS documents it as blocking a body over 8 KB) unless the ACL overrides it to count, and the
ACL's own `size_constraint_statement`s on the body. WAF sees at most the inspection limit of a
body (the ACL's `association_config`, 16 KB for CloudFront unless raised); for a larger body,
the statement's `oversize_handling` decides (MATCH, NO_MATCH, or CONTINUE: judge what it saw).
Rules are taken in priority order; the first that blocks decides, else the default allows.
"""

from __future__ import annotations

import operator
from typing import Any

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
COMMON_BODY_LIMIT = 8 * 1024  # SizeRestrictions_BODY, per AWS's rule group documentation
DEFAULT_INSPECTION_LIMIT = 16 * 1024  # CloudFront without an association_config
INSPECTION_LIMITS = {"KB_16": 16384, "KB_32": 32768, "KB_48": 49152, "KB_64": 65536}
COMPARE = {
    "EQ": operator.eq,
    "NE": operator.ne,
    "LE": operator.le,
    "LT": operator.lt,
    "GE": operator.ge,
    "GT": operator.gt,
}


def _one(value: Any) -> dict[str, Any]:
    """A nested block as cdktf writes it (a dict) or as a one-element list."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def inspection_limit(acl: dict[str, Any]) -> int:
    body = _one(_one(acl.get("association_config")).get("request_body"))
    setting = _one(body.get("cloudfront")).get("default_size_inspection_limit")
    return INSPECTION_LIMITS[setting] if setting else DEFAULT_INSPECTION_LIMIT


def _common_blocks(statement: dict[str, Any], size: int) -> bool:
    overrides = {o["name"]: o["action_to_use"] for o in statement.get("rule_action_override", [])}
    counted = "count" in _one(overrides.get("SizeRestrictions_BODY"))
    return size > COMMON_BODY_LIMIT and not counted


def _size_matches(statement: dict[str, Any], size: int, limit: int) -> bool:
    body = _one(_one(statement.get("field_to_match")).get("body"))
    if not body and "body" not in _one(statement.get("field_to_match")):
        return False  # another part of the request
    seen = size
    if size > limit:
        handling = body.get("oversize_handling", "CONTINUE")
        if handling != "CONTINUE":
            return handling == "MATCH"
        seen = limit
    return COMPARE[statement["comparison_operator"]](seen, int(statement["size"]))


def verdict(acl: dict[str, Any], size: int) -> str:
    """ "ALLOW" or "BLOCK" for a request whose body is `size` bytes."""
    limit = inspection_limit(acl)
    for rule in sorted(acl["rule"], key=lambda r: r["priority"]):
        if _blocks(rule, size, limit):
            return "BLOCK"
    return "ALLOW"


def _blocks(rule: dict[str, Any], size: int, limit: int) -> bool:
    statement = rule["statement"]
    managed = statement.get("managed_rule_group_statement")
    if managed and managed["name"] == COMMON_RULE_SET and "none" in rule["override_action"]:
        return _common_blocks(managed, size)
    constraint = statement.get("size_constraint_statement")
    if constraint and "block" in rule.get("action", {}):
        return _size_matches(constraint, size, limit)
    return False
