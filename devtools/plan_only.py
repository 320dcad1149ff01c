"""What `make up` plans but cannot apply on moto, by resource type, each with the reason.

moto 5.2 (`moto/route53resolver/`) implements resolver endpoints, rules and query-log configs
but no DNS Firewall API at all, and no way to delete or disassociate a query-log config — so
`make down` could not destroy one; and `make up` reaches moto over plain HTTP, which the
artifact bucket's TLS-only policy refuses (tests/stacks/api/test_artifacts.py asserts the policy,
CKV_CA_26 scans it). These resources are planned (their JSON is asserted in
tests/stacks/foundation/test_egress.py and scanned by CKV_CA_19); everything else in the stack
is applied with `-target`. The addresses follow from the synth: they depend on `egress_mode`
and `egress_run_domains_allowed`.
"""

from __future__ import annotations

from typing import Any

_NO_FIREWALL = "moto 5.2 has no Route 53 Resolver DNS Firewall API"
_NO_QUERY_LOG_DELETE = (
    "moto 5.2 cannot delete or disassociate a Resolver query-log config (make down would fail)"
)
_TLS_ONLY_POLICY = (
    "moto 5.2 reads a Deny's condition as always met, and make up serves moto over plain HTTP, "
    "which the artifact bucket's TLS-only policy refuses anyway: every object request would fail"
)

PLAN_ONLY_TYPES: dict[str, dict[str, str]] = {
    "foundation": {
        "aws_route53_resolver_firewall_domain_list": _NO_FIREWALL,
        "aws_route53_resolver_firewall_rule_group": _NO_FIREWALL,
        "aws_route53_resolver_firewall_rule": _NO_FIREWALL,
        "aws_route53_resolver_firewall_rule_group_association": _NO_FIREWALL,
        "aws_route53_resolver_firewall_config": _NO_FIREWALL,
        "aws_route53_resolver_query_log_config": _NO_QUERY_LOG_DELETE,
        "aws_route53_resolver_query_log_config_association": _NO_QUERY_LOG_DELETE,
    },
    "api": {"aws_s3_bucket_policy": _TLS_ONLY_POLICY},
}


def plan_only(stack: str, stack_json: dict[str, Any]) -> dict[str, str]:
    """{resource address: why moto cannot create it} for one synthesized stack."""
    reasons = PLAN_ONLY_TYPES.get(stack, {})
    return {
        f"{kind}.{name}": reasons[kind]
        for kind, entries in stack_json.get("resource", {}).items()
        if kind in reasons
        for name in entries
    }
