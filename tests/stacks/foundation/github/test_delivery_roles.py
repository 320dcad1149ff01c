"""The delivery roles: pinned trust, a plan role that cannot write, a scoped deploy role, and the
permissions boundary on every role the stacks create (docs/ARCHITECTURE.md §6)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys

import pytest

from stacks.foundation.github import (
    BOUNDARY_OUTPUT,
    DEPLOY,
    GITHUB_ROLE_SESSION_SECONDS,
    GITHUB_ROLES,
    IMAGE,
    OIDC_PROVIDER_OUTPUT,
    PLAN,
    ROLE_OUTPUTS,
    boundary_statements,
    deploy_statements,
    github_role_name,
    image_statements,
    plan_statements,
)
from stacks.foundation.github.dns_firewall import dns_firewall_deploy_statements
from stacks.foundation.github.names import RUNTIME_ROLES, runtime_role_name
from stacks.foundation.github.tagged import network_statements, tagged_statements
from stacks.shared.actions import (
    ARTIFACT_BUCKET_EMPTY,
    ARTIFACT_BUCKET_READ,
    ARTIFACT_BUCKET_WRITE,
)
from stacks.shared.arns import Arns, boundary_name
from stacks.shared.github_subjects import role_trust
from stacks.shared.iam import PolicyError, github_oidc_trust_json, policy_json
from stacks.shared.setting_loader import SettingsError, load_settings
from stacks.shared.tags import TAG_KEYS
from tests.support.policy_checks import (
    allowed_actions,
    bounded_role_write_problems,
    pass_role_problems,
    trust_problems,
    write_actions,
)
from tests.support.synthesized import one, role_policies, roles
from toolchain.paths import PROJECT_ROOT

SETTINGS = load_settings()
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded
INLINE_POLICY_LIMIT = 10240  # all inline policies of one role together


def github_role(stacks: dict, role: str) -> dict:
    return roles(stacks)[f"foundation/{github_role_name(SETTINGS, role)}"]


def policy_docs(stacks: dict, role: dict) -> list[dict]:
    return role_policies(stacks, role["_stack"], role["_key"])


# --- trust ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", GITHUB_ROLES)
def test_each_role_trusts_only_its_subject_with_string_equals(stacks, role):
    """Plan runs pull-request code: it alone trusts the pull_request subject (StringLike on the
    pull request's number alone); deploy and image their own workflow on the default branch."""
    found = github_role(stacks, role)
    trust = json.loads(found["assume_role_policy"])
    trusted = role_trust(SETTINGS, role)
    assert trust_problems(trust, trusted.subject, trusted.operator) == []
    assert found["max_session_duration"] == GITHUB_ROLE_SESSION_SECONDS == 3600
    workflow = {PLAN: "plan.yml@refs/pull/*/merge", DEPLOY: "apply-stack.yml@refs/heads/main"}
    assert trusted.subject.endswith(workflow.get(role, "image.yml@refs/heads/main"))
    assert (trusted.operator == "StringLike") == (role == PLAN)


def test_no_role_but_plan_trusts_pull_requests_and_plan_trusts_nothing_else(stacks):
    for name, role in roles(stacks).items():
        trust = role["assume_role_policy"]
        if ":pull_request" in trust:
            assert name.endswith("-github-plan"), name
        if name.endswith("-github-plan"):
            assert ":environment:" not in trust


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s["Condition"].update({"StringLike": s["Condition"].pop("StringEquals")}),
        lambda s: s["Condition"]["StringEquals"].pop("token.actions.githubusercontent.com:aud"),
        lambda s: s["Condition"]["StringEquals"].update(
            {"token.actions.githubusercontent.com:sub": "repo:org/cloudagent:*"}
        ),
        lambda s: s.update({"Action": "sts:AssumeRole"}),
    ],
    ids=["string-like", "no-aud", "wildcard-sub", "assume-role"],
)
def test_trust_check_catches_a_loosened_trust(stacks, mutate):
    trust = json.loads(github_role(stacks, DEPLOY)["assume_role_policy"])
    broken = copy.deepcopy(trust)
    mutate(broken["Statement"][0])
    trusted = role_trust(SETTINGS, DEPLOY)
    assert trust_problems(broken, trusted.subject, trusted.operator)


def test_trust_builder_refuses_a_wildcard_subject():
    arn = "arn:aws:iam::1:oidc-provider/x"
    with pytest.raises(PolicyError, match="exact"):
        github_oidc_trust_json(arn, "repo:org/*:environment:dev")
    with pytest.raises(PolicyError, match="exact"):
        github_oidc_trust_json(arn, role_trust(SETTINGS, PLAN).subject)  # not as StringEquals
    # StringLike only for a pull request's number, at the end of a pull_request subject.
    plan = role_trust(SETTINGS, PLAN).subject
    for subject in (
        "repo:org/cloudagent:pull_request:*",
        "repo:org/cloudagent:environment:dev:job_workflow_ref:x@refs/pull/*/merge",
        "repo:org/cloudagent:environment:pull_request:job_workflow_ref:x@refs/pull/*/merge",
        plan.replace("plan.yml", "*.yml"),
        plan + "?",
    ):
        with pytest.raises(PolicyError):
            github_oidc_trust_json(arn, subject, "StringLike")
    assert "StringLike" in github_oidc_trust_json(arn, plan, "StringLike")


# --- plan: read only ----------------------------------------------------------------------


def test_plan_role_has_no_write_action(stacks):
    plan = github_role(stacks, PLAN)
    docs = policy_docs(stacks, plan)
    assert docs and all(write_actions(doc) == [] for doc in docs)
    attached = stacks["foundation"]["resource"].get("aws_iam_role_policy_attachment", {})
    assert not [a for a in attached.values() if plan["_key"] in a["role"]]


def test_plan_check_catches_a_write_action(stacks):
    doc = copy.deepcopy(policy_docs(stacks, github_role(stacks, PLAN))[0])
    doc["Statement"][-1]["Action"] = ["s3:GetObject", "s3:PutObject"]
    assert write_actions(doc) == ["s3:PutObject"]


def test_shared_read_policy_is_exactly_plans(stacks):
    """The deploy role's managed read policy is the plan role's statements, nothing more."""
    policies = stacks["foundation"]["resource"]["aws_iam_policy"]
    read = next(p for p in policies.values() if p["name"] == f"{SETTINGS.prefix}-github-read")
    assert write_actions(json.loads(read["policy"])) == []
    plan_doc = policy_docs(stacks, github_role(stacks, PLAN))[0]
    assert json.loads(read["policy"]) == plan_doc


# --- deploy: scoped, bounded role writes, guarded ------------------------------------------


def _deploy_doc(stacks):
    return policy_docs(stacks, github_role(stacks, DEPLOY))[0]


def test_deploy_pass_role_only_on_project_roles(stacks):
    doc = _deploy_doc(stacks)
    pattern = next(s["Resource"] for s in doc["Statement"] if s.get("Sid") == "PassProjectRoles")
    assert pattern.endswith(f":role/{SETTINGS.prefix}-*")
    assert pass_role_problems(doc, pattern) == []
    broken = copy.deepcopy(doc)
    for s in broken["Statement"]:
        if s.get("Sid") == "PassProjectRoles":
            s["Resource"] = "arn:aws:iam::123456789012:role/*"
    assert pass_role_problems(broken, pattern)


def test_deploy_creates_roles_only_with_the_boundary(stacks):
    doc = _deploy_doc(stacks)
    boundary = next(
        s["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
        for s in doc["Statement"]
        if s.get("Sid") == "ProjectRolesBounded"
    )
    assert boundary.endswith(f":policy/{boundary_name(SETTINGS)}")
    assert bounded_role_write_problems(doc, boundary) == []
    broken = copy.deepcopy(doc)
    for s in broken["Statement"]:
        if s.get("Sid") == "ProjectRolesBounded":
            del s["Condition"]
    assert bounded_role_write_problems(broken, boundary)


def test_deploy_cannot_touch_delivery_roles_trust_or_boundary(stacks):
    denied = {s["Sid"]: s for s in _deploy_doc(stacks)["Statement"] if s["Effect"] == "Deny"}
    assert {"DenyDeliveryRoleChanges", "DenyTrustChanges", "DenyEditingBoundary"} <= set(denied)
    targets = json.dumps(denied["DenyDeliveryRoleChanges"]["Resource"])
    # The admin-invoke role (api stack) is GitHub-trusted too, and as protected.
    for role in (*GITHUB_ROLES, "admin"):
        assert github_role_name(SETTINGS, role) in targets
    assert "iam:PutRolePolicy" in denied["DenyDeliveryRoleChanges"]["Action"]


# The artifact bucket's exact ARN as foundation writes it (partition and account are its own
# data sources): `<prefix>-artifacts-<account>-<region>`.
ARTIFACT_BUCKET_ARN = re.compile(
    r"arn:\$\{data\.aws_partition\.[\w]+\.partition\}:s3:::"
    r"cloudagent-dev-artifacts-\$\{data\.aws_caller_identity\.[\w]+\.account_id\}-us-east-1"
)


def _account_free(name: str) -> str:
    return re.sub(r"\$\{data\.aws_caller_identity\.[^}]+\}", "<account>", name)


def test_plan_reads_the_artifact_buckets_configuration_and_none_of_its_objects(stacks):
    """What the provider refreshes of an S3 bucket, by the bucket's exact ARN; the objects (the
    agents' conversations) stay the control role's alone."""
    by_sid = {s["Sid"]: s for s in policy_docs(stacks, github_role(stacks, PLAN))[0]["Statement"]}
    read = by_sid["ReadArtifactBucket"]
    assert sorted(read["Action"]) == sorted(ARTIFACT_BUCKET_READ)
    assert ARTIFACT_BUCKET_ARN.fullmatch(read["Resource"]), read["Resource"]
    s3 = [s for s in by_sid.values() if "s3:" in json.dumps(s["Action"])]
    assert [s["Sid"] for s in s3] == ["ReadArtifactBucket"], "local state: no state reads"
    assert not {"s3:GetObject", "s3:GetObjectVersion"} & set(read["Action"])
    # The bucket the api stack creates, by the same name.
    created = _account_free(one(stacks["api"], "aws_s3_bucket")["bucket"])
    assert _account_free(read["Resource"]).endswith(f":s3:::{created}")


def test_deploy_writes_the_artifact_bucket_by_name_and_deletes_only_its_objects(stacks):
    by_sid = {s["Sid"]: s for s in _deploy_doc(stacks)["Statement"]}
    bucket = by_sid["ArtifactBucket"]
    assert ARTIFACT_BUCKET_ARN.fullmatch(bucket["Resource"]), bucket["Resource"]
    assert sorted(bucket["Action"]) == sorted([*ARTIFACT_BUCKET_WRITE, *ARTIFACT_BUCKET_EMPTY])
    empty = by_sid["EmptyArtifactBucket"]
    assert empty["Resource"] == f"{bucket['Resource']}/*"
    assert sorted(empty["Action"]) == ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    # Nothing of S3 on any other resource, nothing read of the objects, no wildcard.
    for statement in by_sid.values():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if any(a.startswith("s3:") for a in actions) and statement["Effect"] == "Allow":
            assert statement["Sid"] in ("ArtifactBucket", "EmptyArtifactBucket"), statement
            assert "s3:GetObject" not in actions and not any("*" in a for a in actions)


def test_plan_and_deploy_cover_what_the_provider_calls_for_the_bucket():
    """Create (CreateBucket with the private canned ACL, tags), each configuration's put and
    delete, destroy with force_destroy (list versions, delete them) — and every refresh read
    on the plan side; a missing one fails the apply, or the plan, in a real account."""
    assert {"s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"} <= set(
        ARTIFACT_BUCKET_WRITE
    )
    configurations = {
        "ownership": ("s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls"),
        "public_access": ("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
        "encryption": ("s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"),
        "policy": ("s3:GetBucketPolicy", "s3:PutBucketPolicy"),
        "lifecycle": ("s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
    }
    for read, write in configurations.values():
        assert read in ARTIFACT_BUCKET_READ and write in ARTIFACT_BUCKET_WRITE
    assert "s3:DeleteBucketPolicy" in ARTIFACT_BUCKET_WRITE
    assert ARTIFACT_BUCKET_EMPTY == ("s3:ListBucketVersions",)
    assert "s3:ListBucket" in ARTIFACT_BUCKET_READ  # HeadBucket


def test_image_role_pushes_only_to_the_agent_repository(stacks):
    doc = policy_docs(stacks, github_role(stacks, IMAGE))[0]
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    # ecr:GetAuthorizationToken has no resource type; it is the only "*" here.
    assert by_sid["RegistryLogin"] == {
        "Sid": "RegistryLogin",
        "Effect": "Allow",
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",
    }
    assert by_sid["PushAgentImage"]["Resource"].endswith(f":repository/{SETTINGS.prefix}-agent")


# --- the boundary -------------------------------------------------------------------------


def boundary_problems(stacks: dict) -> list[str]:
    """Every role carries the project boundary, except the deploy role (see github_oidc.py)."""
    deploy = github_role_name(SETTINGS, DEPLOY)
    problems = []
    for name, role in roles(stacks).items():
        boundary = role.get("permissions_boundary") or ""
        if name == f"foundation/{deploy}":
            if boundary:
                problems.append(f"{name}: the deploy role is documented as unbounded")
        elif not (
            boundary.endswith(f":policy/{boundary_name(SETTINGS)}")
            or boundary.startswith("${aws_iam_policy.")
        ):
            problems.append(f"{name}: no project permissions boundary ({boundary!r})")
    return problems


def test_every_role_in_every_stack_carries_the_boundary(stacks):
    assert roles(stacks), "no roles synthesized"
    assert boundary_problems(stacks) == []


def test_boundary_check_catches_a_role_without_it(stacks):
    broken = copy.deepcopy(stacks)
    role = next(iter(broken["agent"]["resource"]["aws_iam_role"].values()))
    del role["permissions_boundary"]
    assert boundary_problems(broken)


def _literal_boundary(settings=SETTINGS) -> list[dict]:
    arns = Arns(settings=settings, account="123456789012")
    statements = boundary_statements(arns, arns.repository(f"{settings.prefix}-agent"))
    return [json.loads(policy_json(statements))]


def uncovered_actions(stacks: dict) -> dict[str, set[str]]:
    """Actions a bounded role's own policy allows that the boundary would silently block."""
    ceiling = allowed_actions(_literal_boundary())
    deploy = github_role_name(SETTINGS, DEPLOY)
    missing = {}
    for name, role in roles(stacks).items():
        if name == f"foundation/{deploy}":
            continue
        gap = allowed_actions(policy_docs(stacks, role)) - ceiling
        if gap:
            missing[name] = gap
    return missing


def test_boundary_contains_every_action_of_every_bounded_role(stacks):
    assert uncovered_actions(stacks) == {}


def test_boundary_coverage_catches_a_new_action(stacks):
    broken = copy.deepcopy(stacks)
    policy = next(iter(broken["agent"]["resource"]["aws_iam_role_policy"].values()))
    doc = json.loads(policy["policy"])
    doc["Statement"][0]["Action"] = [*_as_list(doc["Statement"][0]["Action"]), "sqs:SendMessage"]
    policy["policy"] = json.dumps(doc)
    assert any("sqs:SendMessage" in gap for gap in uncovered_actions(broken).values())


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_boundary_scopes_that_name_the_project_hold_in_every_region():
    """A ceiling by the project's names in any region (IAM names are per account, so one
    account holds one `dev`); scopes by resource type alone keep their region."""
    [allowed] = [s for s in _literal_boundary()[0]["Statement"] if s["Sid"] == "ProjectResources"]
    scopes = allowed["Resource"]
    assert "arn:aws:dynamodb:*:123456789012:table/cloudagent-dev" in scopes
    assert "arn:aws:lambda:*:123456789012:function:cloudagent-dev-*" in scopes
    assert "arn:aws:logs:*:123456789012:log-group:/cloudagent/dev/*" in scopes
    assert "arn:aws:kms:us-east-1:123456789012:key/*" in scopes
    assert "arn:aws:ec2:us-east-1:123456789012:vpc/*" in scopes
    assert "arn:aws:s3:::cloudagent-dev-artifacts-*" in scopes
    for scope in scopes:
        region = scope.split(":")[3]
        assert region in ("", "*", "us-east-1"), scope
        if region == "us-east-1":
            assert "cloudagent-dev" not in scope and "/cloudagent/dev" not in scope, scope


def test_boundary_denies_editing_skipping_and_removing_itself():
    denies = {s["Sid"]: s for s in _literal_boundary()[0]["Statement"] if s["Effect"] == "Deny"}
    assert set(denies) == {
        "DenyEditingBoundary",
        "DenyRolesWithoutBoundary",
        "DenyRemovingBoundary",
    }
    assert denies["DenyRolesWithoutBoundary"]["Condition"]["StringNotEquals"][
        "iam:PermissionsBoundary"
    ].endswith(f":policy/{boundary_name(SETTINGS)}")


LONG_STATE_BUCKET = "a-rather-long-terraform-state-bucket-name-0123456789"


@pytest.mark.parametrize(
    ("env", "region", "state_bucket"),
    [
        ("productioneu0001", "us-east-1", LONG_STATE_BUCKET),
        ("productioneu0001", "eu-west-2", LONG_STATE_BUCKET),
        # The longest names the artifact bucket's 63 characters allow (env + region <= 28),
        # with a state bucket name as long as S3 allows.
        ("productioneu0001", "eu-central-1", "s" * 63),
        ("production0001", "ap-southeast-2", "s" * 63),
    ],
)
def test_policies_fit_iam_size_limits_with_long_names(env, region, state_bucket):
    """IAM refuses larger documents at apply; long names and a second region are the worst case."""
    settings = load_settings(
        environ={
            "CLOUDAGENT_ENV_NAME": env,
            "CLOUDAGENT_REGION": region,
            "CLOUDAGENT_STATE_BUCKET": state_bucket,
        }
    )
    arns = Arns(settings=settings, account="123456789012")
    repo = arns.repository(f"{settings.prefix}-agent")

    def size(statements) -> int:
        return len(re.sub(r"\s", "", policy_json(statements)))

    assert size(boundary_statements(arns, repo)) <= MANAGED_POLICY_LIMIT
    assert size(plan_statements(arns)) <= MANAGED_POLICY_LIMIT  # also the shared read policy
    assert size(deploy_statements(arns)) <= INLINE_POLICY_LIMIT
    # The deploy role's tag-scoped writes: two managed policies (tagged.py).
    assert size(network_statements(arns, "sg-0123456789abcdef0")) <= MANAGED_POLICY_LIMIT
    assert size(tagged_statements(arns)) <= MANAGED_POLICY_LIMIT
    assert size(dns_firewall_deploy_statements(arns)) <= MANAGED_POLICY_LIMIT
    assert size(image_statements(repo)) <= INLINE_POLICY_LIMIT


# --- outputs and the existing-provider setting --------------------------------------------


def test_foundation_outputs_the_role_provider_and_boundary_arns(stacks):
    outputs = stacks["foundation"]["output"]
    for output in [*ROLE_OUTPUTS.values(), OIDC_PROVIDER_OUTPUT, BOUNDARY_OUTPUT]:
        assert output in outputs, output
    providers = stacks["foundation"]["resource"]["aws_iam_openid_connect_provider"]
    (provider,) = providers.values()
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


def test_existing_provider_is_looked_up_not_created(tmp_path):
    env = {
        **os.environ,
        "CLOUDAGENT_OUTDIR": str(tmp_path),
        "CLOUDAGENT_STATE_BUCKET": "",
        "CLOUDAGENT_GITHUB_OIDC_PROVIDER_EXISTS": "true",
    }
    subprocess.run(
        [sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True
    )
    doc = json.loads((tmp_path / "stacks" / "foundation" / "cdk.tf.json").read_text())
    assert "aws_iam_openid_connect_provider" not in doc["resource"]
    (lookup,) = doc["data"]["aws_iam_openid_connect_provider"].values()
    assert lookup["url"] == "https://token.actions.githubusercontent.com"
    trust = json.loads(
        next(
            r["assume_role_policy"]
            for r in doc["resource"]["aws_iam_role"].values()
            if r["name"] == github_role_name(SETTINGS, PLAN)
        )
    )
    assert "data.aws_iam_openid_connect_provider" in trust["Statement"][0]["Principal"]["Federated"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("no", False), ("FALSE", False)]
)
def test_provider_exists_setting_parses(raw, expected):
    environ = {"CLOUDAGENT_GITHUB_OIDC_PROVIDER_EXISTS": raw}
    assert load_settings(environ=environ).github_oidc_provider_exists is expected
    assert load_settings(context={"github_oidc_provider_exists": expected}, environ={})


def test_provider_exists_setting_refuses_other_values():
    with pytest.raises(SettingsError, match=r"github_oidc_provider_exists.*true or false"):
        load_settings(environ={"CLOUDAGENT_GITHUB_OIDC_PROVIDER_EXISTS": "maybe"})


def test_deploy_writes_the_dns_firewall_only_on_project_tagged_resources(stacks):
    """Resolver IDs are generated: creates need the project's tags in the request, changes on
    the resource; only the untaggable per-VPC firewall config goes without."""
    policies = stacks["foundation"]["resource"]["aws_iam_policy"]
    [policy] = [p for p in policies.values() if p["name"] == "cloudagent-dev-github-dns-firewall"]
    attached = stacks["foundation"]["resource"]["aws_iam_role_policy_attachment"].values()
    [key] = [k for k, p in policies.items() if p is policy]
    assert any(a["policy_arn"] == f"${{aws_iam_policy.{key}.arn}}" for a in attached)
    by_sid = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    tags = {"Project": "cloudagent", "Environment": "dev"}
    create = by_sid.pop("DnsFirewallCreate")
    assert create["Condition"] == {
        "StringEquals": {f"aws:RequestTag/{k}": v for k, v in tags.items()},
        # No tag key beyond those the stacks send (stacks/shared/tags.py).
        "ForAllValues:StringEquals": {"aws:TagKeys": list(TAG_KEYS)},
    }
    change = by_sid.pop("DnsFirewallChange")
    assert change["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    }
    query_log = by_sid.pop("DnsQueryLogCreate")
    assert query_log["Resource"] == "*" and query_log["Condition"] == create["Condition"]
    config = by_sid.pop("DnsFirewallConfig")
    assert config["Action"] == "route53resolver:UpdateFirewallConfig"
    assert by_sid == {}
    for statement in (create, change, config):
        assert re.fullmatch(
            r"arn:\$\{[^}]+\}:route53resolver:us-east-1:\$\{[^}]+\.account_id\}:\*",
            statement["Resource"],
        ), statement["Resource"]


def test_the_deploy_role_may_create_exactly_the_roles_agent_and_api_synthesize(stacks):
    """`RUNTIME_ROLES` is what `CreateRuntimeRoles` allows: a role added to `agent` or `api`
    without it would fail its first real apply (moto does not evaluate IAM)."""
    synthesized = {
        name.split("/", 1)[1]
        for name in roles(stacks)
        if name.split("/", 1)[0] in ("agent", "api") and "-github-" not in name
    }
    assert synthesized == {runtime_role_name(SETTINGS, r) for r in RUNTIME_ROLES}
