"""CKV_CA_18: security groups let nothing in, and out only HTTPS and DNS to the VPC resolver.

Agent tasks run model-chosen commands, so their network is part of least privilege: no inbound
rule at all (nothing reaches a task, even with a public IP in `network_mode=public`), outbound
TCP 443 anywhere (model APIs, git, registries — narrowed by name by the DNS Firewall), and DNS
(TCP and UDP 53) only to the Amazon-provided resolver at the VPC's base address + 2 as a /32.
DNS to any other server would bypass the DNS Firewall (CKV_CA_19), and any other port would
bypass both. The only security group the stacks create is the tasks' (the default group is an
`aws_default_security_group` with no rules), so every group is held to this.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, Unknown, as_list, attr, blocks, plain, unwrap
from stacks.shared.egress import DNS_PORT, HTTPS_PORT, resolver_cidr
from stacks.shared.setting_loader import load_settings

ANYWHERE = "0.0.0.0/0"
# Ways a rule can name a destination other than IPv4 CIDRs: each would widen the rule.
OTHER_DESTINATIONS = (
    "ipv6_cidr_blocks",
    "prefix_list_ids",
    "security_groups",
    "source_security_group_id",
    "referenced_security_group_id",
    "cidr_ipv6",
    "prefix_list_id",
    "self",
)


def _port(value: Any) -> int | None:
    try:
        return int(unwrap(value))
    except (TypeError, ValueError):
        return None


def _cidrs(rule: dict[str, Any]) -> list[str]:
    found = [str(c) for c in as_list(unwrap(rule.get("cidr_blocks")))]
    found += [str(c) for c in as_list(unwrap(rule.get("cidr_ipv4")))]
    return found


def egress_problem(rule: dict[str, Any], resolver: str) -> str | None:
    """Why an egress rule is too wide, or None when it is HTTPS anywhere or DNS to the resolver."""
    protocol = str(unwrap(rule.get("protocol", rule.get("ip_protocol"))) or "").lower()
    low, high = _port(rule.get("from_port")), _port(rule.get("to_port"))
    cidrs = _cidrs(rule)
    shown = f"egress {protocol or '?'} {low}-{high} to {cidrs}"
    for key in OTHER_DESTINATIONS:
        value = unwrap(rule.get(key))
        if value not in (None, [], "", False):
            return f"{shown}: also to {key} {value!r}; only IPv4 CIDRs are allowed"
    if not cidrs:
        return f"{shown}: names no destination"
    if protocol == "tcp" and low == high == HTTPS_PORT and cidrs == [ANYWHERE]:
        return None
    if protocol in ("tcp", "udp") and low == high == DNS_PORT and cidrs == [resolver]:
        return None
    return (
        f"{shown}: only tcp/{HTTPS_PORT} to {ANYWHERE} and tcp+udp/{DNS_PORT} to the VPC "
        f"resolver {resolver} are allowed"
    )


class AgentSecurityGroupEgress(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Security groups: no ingress; egress only tcp/443 anywhere and tcp+udp/53 to "
            "the VPC resolver (base + 2, a /32)",
            id="CKV_CA_18",
            resources=[
                "aws_security_group",
                "aws_security_group_rule",
                "aws_vpc_security_group_ingress_rule",
                "aws_vpc_security_group_egress_rule",
            ],
            categories=[CheckCategories.NETWORKING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        resolver = resolver_cidr(load_settings().vpc_cidr)
        if self.entity_type == "aws_vpc_security_group_ingress_rule":
            return ["an ingress rule: agent tasks accept no inbound traffic"]
        if self.entity_type == "aws_vpc_security_group_egress_rule":
            problem = egress_problem(plain(conf), resolver)
            return [problem] if problem else []
        if self.entity_type == "aws_security_group_rule":
            if attr(conf, "type") == "ingress":
                return ["an ingress rule: agent tasks accept no inbound traffic"]
            problem = egress_problem(plain(conf), resolver)
            return [problem] if problem else []
        if isinstance(unwrap(conf.get("egress")), str):
            raise Unknown("egress not known until apply")
        found = [
            f"ingress {unwrap(r.get('protocol'))} {unwrap(r.get('from_port'))}: agent tasks "
            "accept no inbound traffic"
            for r in blocks(conf.get("ingress"))
        ]
        for rule in blocks(conf.get("egress")):
            problem = egress_problem(rule, resolver)
            if problem:
                found.append(problem)
        return found


check = AgentSecurityGroupEgress()
