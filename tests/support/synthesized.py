"""Readers of the synthesized JSON: resources by type, roles and their inline policies."""

from __future__ import annotations

import json

# The state bucket the S3-backend synth names (created on moto by the tests that apply).
STATE_BUCKET = "cloudagent-tfstate-test"


def resources(stack: dict, kind: str) -> list[dict]:
    return list(stack.get("resource", {}).get(kind, {}).values())


def one(stack: dict, kind: str) -> dict:
    found = resources(stack, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def policy_of(stack: dict, role_name_suffix: str) -> list[dict]:
    roles = {
        key: role
        for key, role in stack["resource"]["aws_iam_role"].items()
        if role["name"].endswith(role_name_suffix)
    }
    assert len(roles) == 1, roles
    [key] = roles
    [policy] = [
        p
        for p in resources(stack, "aws_iam_role_policy")
        if p["role"] == f"${{aws_iam_role.{key}.id}}"
    ]
    return json.loads(policy["policy"])["Statement"]


def roles(stacks: dict[str, dict]) -> dict[str, dict]:
    """Every aws_iam_role in every stack, keyed `stack/name`."""
    found = {}
    for stack, doc in stacks.items():
        for key, role in doc.get("resource", {}).get("aws_iam_role", {}).items():
            found[f"{stack}/{role['name']}"] = {**role, "_key": key, "_stack": stack}
    return found


def role_policies(stacks: dict[str, dict], stack: str, role_key: str) -> list[dict]:
    """Inline policy documents of one role (separate aws_iam_role_policy resources)."""
    ref = f"${{aws_iam_role.{role_key}.id}}"
    docs = stacks[stack].get("resource", {}).get("aws_iam_role_policy", {}).values()
    return [json.loads(p["policy"]) for p in docs if p["role"] == ref]


# Non-default configurations the suite synthesizes once each (the `variant_stacks` fixture).
VARIANTS = {
    # Behind NAT (one gateway per AZ), the firewall only observing, runs may add a domain.
    "nat_observe": {
        "CLOUDAGENT_NETWORK_MODE": "nat",
        "CLOUDAGENT_NAT_GATEWAY_COUNT": "2",
        "CLOUDAGENT_EGRESS_MODE": "observe",
        "CLOUDAGENT_EGRESS_RUN_DOMAINS_ALLOWED": "example.com,*.example.org",
    },
    # No DNS Firewall at all, in a region other than the edge's (us-east-1).
    "egress_off": {"CLOUDAGENT_EGRESS_MODE": "off", "CLOUDAGENT_REGION": "eu-west-1"},
    # The clone token's secret exists (repo-init holds it) and a lower spend cap per run.
    "private_repos": {"CLOUDAGENT_PRIVATE_REPOS": "true", "CLOUDAGENT_MAX_RUN_COST_USD": "7.5"},
}


def task_definitions(agent: dict) -> dict[str, dict]:
    """family -> task definition of the agent stack (two per provider: base and `-repo`)."""
    return {t["family"]: t for t in resources(agent, "aws_ecs_task_definition")}


def containers_of(task_definition: dict) -> dict[str, dict]:
    """container name -> container definition, parsed from the JSON string ECS takes."""
    return {c["name"]: c for c in json.loads(task_definition["container_definitions"])}
