"""The deploy role's writes to the DNS Firewall and its query log, as their own managed policy.

Route 53 Resolver names these resources by generated ID, so they are scoped by the project's
tags: the provider's `default_tags` put `Project` and `Environment` on every create request
(`aws:RequestTag`), and every later change needs them on the resource (`aws:ResourceTag`). The
VPC's firewall config has neither tags nor an ID before it exists: this account and region.

A managed policy (`<prefix>-github-dns-firewall`, administrator-applied with `foundation` like
every delivery resource) rather than more inline statements: the deploy role's inline policy is
close to IAM's 10,240-character limit.
"""

from __future__ import annotations

from stacks.shared.actions import DNS_FIREWALL_CHANGE, DNS_FIREWALL_CREATE
from stacks.shared.arns import Arns
from stacks.shared.constants import PROJECT
from stacks.shared.iam import Statement


def dns_firewall_deploy_statements(arns: Arns) -> list[Statement]:
    """Create tagged, change only what carries the tags, set the VPC's fail mode."""
    tags = {"Project": PROJECT, "Environment": arns.settings.env_name}
    request_tags = {"StringEquals": {f"aws:RequestTag/{k}": v for k, v in tags.items()}}
    return [
        Statement(
            sid="DnsFirewallCreate",
            actions=DNS_FIREWALL_CREATE,
            resources=arns.dns_firewall,
            conditions=request_tags,
        ),
        Statement(
            # No resource type (stacks/shared/star_only_actions.py); the tags still bind it.
            sid="DnsQueryLogCreate",
            actions=["route53resolver:CreateResolverQueryLogConfig"],
            resources=["*"],
            conditions=request_tags,
        ),
        Statement(
            sid="DnsFirewallChange",
            actions=DNS_FIREWALL_CHANGE,
            resources=arns.dns_firewall,
            conditions={"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in tags.items()}},
        ),
        Statement(
            # Untaggable, one per VPC; fail open or closed is all it sets.
            sid="DnsFirewallConfig",
            actions=["route53resolver:UpdateFirewallConfig"],
            resources=arns.dns_firewall,
        ),
    ]
