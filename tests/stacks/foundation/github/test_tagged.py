"""The deploy role's writes on resources named by generated IDs carry this environment's tags
(stacks/foundation/github/tagged.py, docs/ARCHITECTURE.md §6.3)."""

from __future__ import annotations

import json

import pytest

from stacks.foundation.github.tagged import (
    EC2_CREATES_BY_TYPE,
    network_statements,
    tagged_statements,
)
from stacks.shared.actions import EC2_CREATE, EC2_WRITE
from stacks.shared.arns import Arns
from stacks.shared.constants import PROJECT
from stacks.shared.iam import policy_json
from stacks.shared.setting_loader import load_settings
from stacks.shared.tags import TAG_KEYS
from tests.support.synthesized import resources

SETTINGS = load_settings()
EXISTING = ("Network", "ProjectKeys", "ProjectRestApi", "ProjectDistribution")
CREATING = (
    *EC2_CREATES_BY_TYPE,
    "TagNewNetwork",
    "CreateProjectKeys",
    "CreateProjectRestApi",
    "TagNewProjectResources",
)


def _policy(stacks: dict, part: str) -> dict[str, dict]:
    name = f"{SETTINGS.prefix}-github-deploy-{part}"
    (policy,) = [p for p in resources(stacks["foundation"], "aws_iam_policy") if p["name"] == name]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


@pytest.fixture(scope="module")
def deploy_scoped(stacks: dict) -> dict[str, dict]:
    """The two managed policies the deploy role carries, statements by Sid."""
    return {**_policy(stacks, "network"), **_policy(stacks, "tagged")}


def _scope(statement: dict, kind: str) -> dict[str, str]:
    equals = statement["Condition"]["StringEquals"]
    return {k: equals[f"aws:{kind}/{k}"] for k in ("Project", "Environment")}


def test_changes_need_this_environments_tags_on_the_resource(deploy_scoped):
    for sid in EXISTING:
        scope = _scope(deploy_scoped[sid], "ResourceTag")
        assert scope == {"Project": PROJECT, "Environment": SETTINGS.env_name}, sid


def test_creates_must_send_this_environments_tags_and_no_other_keys(deploy_scoped):
    for sid in CREATING:
        statement = deploy_scoped[sid]
        assert _scope(statement, "RequestTag") == {
            "Project": PROJECT,
            "Environment": SETTINGS.env_name,
        }, sid
        assert statement["Condition"]["ForAllValues:StringEquals"] == {
            "aws:TagKeys": list(TAG_KEYS)
        }


def test_ec2_tags_without_a_project_tag_only_while_creating(deploy_scoped):
    tag_on_create = deploy_scoped["TagNewNetwork"]
    assert tag_on_create["Action"] == "ec2:CreateTags"
    created = tag_on_create["Condition"]["StringEquals"]["ec2:CreateAction"]
    assert sorted(f"ec2:{call}" for call in created) == sorted(EC2_CREATE)


def test_the_default_security_group_is_named_by_the_vpcs_attribute(stacks, deploy_scoped):
    (vpc_key,) = stacks["foundation"]["resource"]["aws_vpc"]
    statement = deploy_scoped["CloseDefaultSecurityGroup"]
    assert statement["Resource"].endswith(
        f":security-group/${{aws_vpc.{vpc_key}.default_security_group_id}}"
    )
    assert "Condition" not in statement
    (group,) = resources(stacks["foundation"], "aws_default_security_group")
    assert group["ingress"] == [] and group["egress"] == []


def test_tagging_what_another_environment_owns_is_denied(deploy_scoped):
    for key, value in (("Environment", SETTINGS.env_name), ("Project", PROJECT)):
        deny = deploy_scoped[f"DenyRetagging{key}"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {
            "Null": {f"aws:ResourceTag/{key}": "false"},
            "StringNotEquals": {f"aws:ResourceTag/{key}": value},
        }
        assert "kms:TagResource" in deny["Action"] and "cloudfront:TagResource" in deny["Action"]


def test_the_deploy_role_carries_both_policies(stacks):
    attached = {
        a["policy_arn"]
        for a in resources(stacks["foundation"], "aws_iam_policy_attachment")
        + resources(stacks["foundation"], "aws_iam_role_policy_attachment")
        if "github_deploy_role" in a["role"]
    }
    assert any("github_deploy_network" in arn for arn in attached), attached
    assert any("github_deploy_tagged" in arn for arn in attached), attached


def test_every_tag_any_resource_is_created_with_is_an_allowed_key(stacks):
    """`aws:TagKeys` refuses a create with any other key: a new tag must be added there too."""
    sent: set[str] = set()
    for stack in stacks.values():
        for provider in stack["provider"]["aws"]:
            for block in provider.get("default_tags", []):
                assert {"Project": PROJECT, "Environment": SETTINGS.env_name}.items() <= block[
                    "tags"
                ].items()
                sent |= set(block["tags"])
        for kind in stack.get("resource", {}).values():
            for body in kind.values():
                sent |= set(body.get("tags") or {})
    assert sent <= set(TAG_KEYS), sent - set(TAG_KEYS)
    assert {"Name", "Tier"} <= sent  # the check sees the network's own tags


def test_every_ec2_create_is_tagged_on_create():
    """A create added to EC2_WRITE must also be in EC2_CREATE, or its first apply fails."""
    untagged = {"ec2:CreateRoute", "ec2:CreateTags"}  # create no resource of their own
    creates = {a for a in EC2_WRITE if a.startswith(("ec2:Create", "ec2:Allocate"))}
    assert creates - untagged == set(EC2_CREATE)


@pytest.fixture(scope="module")
def two_environments() -> dict[str, str]:
    """The tag-scoped policies of `dev` and `prod`, rendered with a literal account."""
    docs = {}
    for env in ("dev", "prod"):
        arns = Arns(settings=load_settings(environ={"CLOUDAGENT_ENV_NAME": env}), account="1")
        statements = [*network_statements(arns, "sg-1"), *tagged_statements(arns)]
        docs[env] = policy_json(statements)
    return docs


def test_a_second_environment_scopes_by_its_own_tags(two_environments):
    dev, prod = (json.loads(two_environments[e])["Statement"] for e in ("dev", "prod"))
    for mine, env in ((dev, "dev"), (prod, "prod")):
        values = {
            v
            for s in mine
            if s["Effect"] == "Allow" and "Condition" in s
            for k, v in s["Condition"]["StringEquals"].items()
            if k.endswith("Tag/Environment")
        }
        assert values == {env}
    # Same statements otherwise: only the scope moved.
    assert [s["Sid"] for s in dev] == [s["Sid"] for s in prod]
