"""The tags every project resource carries, and the IAM conditions that scope writes by them.

Some services name resources by generated IDs (KMS keys, EC2, CloudFront distributions, API
Gateway REST APIs), so no ARN pattern can say "this project's". Their resources are created
with the provider's `default_tags` (`stacks/shared/stack.py`), and the deploy role's writes on
them are scoped by those tags instead: `aws:RequestTag` on create (the new resource must carry
this environment's tags, and no tag key outside `TAG_KEYS`), `aws:ResourceTag` on everything
that changes or deletes an existing one. `Project` and `Environment` together are the scope:
`Environment` alone would match another team's `dev`, and `dev` never matches `prod`.
"""

from __future__ import annotations

from typing import Any

from stacks.shared.constants import PROJECT

# The tags that decide whose a resource is (checked by CKV_CA_20 in every tag condition).
SCOPE_TAG_KEYS = ("Project", "Environment")
# Every tag key a project resource is created with: the default tags, plus `Name` and `Tier`
# that the network sets and `EgressMode` on the DNS Firewall's VPC association (CKV_CA_19 reads
# the mode from it). `aws:TagKeys` on create allows these and nothing else.
TAG_KEYS = ("EgressMode", "Environment", "ManagedBy", "Name", "Project", "Stack", "Tier")

Conditions = dict[str, dict[str, Any]]


def scope_tags(env_name: str) -> dict[str, str]:
    """The tags that make a resource this environment's: the provider sets them on create."""
    return {"Project": PROJECT, "Environment": env_name}


def default_tags(env_name: str, stack: str) -> dict[str, str]:
    """The provider's `default_tags` for one stack: the scope tags plus who manages it."""
    return {**scope_tags(env_name), "Stack": stack, "ManagedBy": "cdktf"}


def on_project_resources(env_name: str) -> Conditions:
    """Changes and deletes: only resources that already carry this environment's tags."""
    return {"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in scope_tags(env_name).items()}}


def creating_project_resources(env_name: str) -> Conditions:
    """Creates: the request must tag the new resource as this environment's, no other keys."""
    return {
        "StringEquals": {f"aws:RequestTag/{k}": v for k, v in scope_tags(env_name).items()},
        "ForAllValues:StringEquals": {"aws:TagKeys": list(TAG_KEYS)},
    }


# Writes that may name a resource type's bare wildcard (`distribution/*`) without a tag
# condition, each with why: they can only create a new resource, never touch an existing one,
# and the service offers no `aws:RequestTag` on them (CKV_CA_20 reads this list).
CREATE_ONLY_ACTIONS: dict[str, str] = {
    "cloudfront:CreateDistribution": "makes a new distribution only; the Service Authorization "
    "Reference lists no aws:RequestTag on it. "
    "Its tags come with it (CreateDistributionWithTags) as cloudfront:TagResource, which is "
    "tag-conditioned",
}

# Writes on a resource type that carries no tags and has no ARN before it exists, so neither a
# name nor a tag can scope them; each with why and what it can reach (CKV_CA_20 reads this list).
UNTAGGABLE_WRITES: dict[str, str] = {
    "route53resolver:UpdateFirewallConfig": "a VPC's DNS Firewall config has no tags and an ID "
    "AWS assigns; it sets only whether that VPC's firewall fails open or closed, so the reach "
    "is the fail mode of other VPCs' firewalls in this account and region",
}
