"""The artifact bucket: private, encrypted with the project key, TLS-only, expiring; reached by
the control role alone, and named by one function for every stack that names it."""

from __future__ import annotations

import json

import pytest
from cdktf import App, TerraformStack
from cdktf import Testing as CdktfTesting

from stacks.api.artifacts import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    ArtifactBucket,
    ArtifactBucketProps,
    artifact_bucket_policy_json,
)
from stacks.shared.arns import Arns
from stacks.shared.artifacts import (
    ARTIFACT_PREFIXES,
    S3_BUCKET_NAME_MAX,
    artifact_bucket_name,
    artifact_bucket_name_problem,
)
from stacks.shared.setting_loader import SettingsError, load_settings
from stacks.shared.settings import Settings
from tests.support.synthesized import one, policy_of, resources, roles

ACCOUNT_TOKEN = "${data.aws_caller_identity.account.account_id}"
KEY_FROM_FOUNDATION = "${data.terraform_remote_state.cross-stack-reference-input-foundation."


@pytest.fixture(scope="module")
def api(stacks: dict[str, dict]) -> dict:
    return stacks["api"]


def _ref(api: dict, kind: str, attribute: str) -> str:
    [key] = api["resource"][kind]
    return f"${{{kind}.{key}.{attribute}}}"


def test_one_bucket_named_by_account_and_region(api: dict) -> None:
    bucket = one(api, "aws_s3_bucket")
    assert bucket["bucket"] == f"cloudagent-dev-artifacts-{ACCOUNT_TOKEN}-us-east-1"
    # Transient artifacts: destroying the stack empties the bucket rather than failing on it.
    assert bucket["force_destroy"] is True
    assert set(bucket) <= {"//", "bucket", "force_destroy"}, "no ACL, website, inline config"
    assert api["output"]["artifact_bucket_name"]["value"] == _ref(api, "aws_s3_bucket", "bucket")


def test_the_bucket_is_private_and_encrypted_with_the_project_key(api: dict) -> None:
    bucket_id = _ref(api, "aws_s3_bucket", "id")
    blocks = one(api, "aws_s3_bucket_public_access_block")
    assert blocks["bucket"] == bucket_id
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert blocks[flag] is True, flag
    ownership = one(api, "aws_s3_bucket_ownership_controls")
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    [rule] = one(api, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    # The foundation key, no key of its own ($1 a month more): the remote-state reference.
    assert default["kms_master_key_id"].startswith(KEY_FROM_FOUNDATION)
    assert "aws_kms_key" not in api.get("resource", {})
    assert rule["bucket_key_enabled"] is True
    assert "aws_s3_bucket_versioning" not in api["resource"], "an expired object is gone"


def test_the_bucket_policy_refuses_plain_http_and_any_other_encryption(api: dict) -> None:
    policy = one(api, "aws_s3_bucket_policy")
    arn = _ref(api, "aws_s3_bucket", "arn")
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert {s["Effect"] for s in statements.values()} == {"Deny"}, "it grants nothing"
    tls = statements["DenyInsecureTransport"]
    assert (tls["Principal"], tls["Action"]) == ("*", "s3:*")
    assert tls["Resource"] == [arn, f"{arn}/*"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # A PUT without encryption headers (the presigned ones) gets the bucket's default; one that
    # names an encryption or a key of its own is refused, whatever it names.
    named = {
        sid: s["Condition"]["Null"]
        for sid, s in statements.items()
        if sid != "DenyInsecureTransport"
    }
    assert named == {
        "DenyOwnEncryption": {"s3:x-amz-server-side-encryption": "false"},
        "DenyOwnKey": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
    }
    for sid in named:
        assert statements[sid]["Action"] == "s3:PutObject"
        assert statements[sid]["Resource"] == f"{arn}/*"
    # The public-access blocks are in place before the policy.
    [blocks] = api["resource"]["aws_s3_bucket_public_access_block"]
    assert policy["depends_on"] == [f"aws_s3_bucket_public_access_block.{blocks}"]


def test_every_object_expires_and_unfinished_uploads_are_dropped(api: dict) -> None:
    [rule] = one(api, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == [{}], "an empty filter: every object"
    assert rule["expiration"] == [{"days": 30}]
    assert rule["abort_incomplete_multipart_upload"] == [
        {"days_after_initiation": ABORT_INCOMPLETE_UPLOAD_DAYS}
    ]
    assert ABORT_INCOMPLETE_UPLOAD_DAYS == 1


def _synth_bucket(settings: Settings) -> dict:
    """The construct alone, synthesized in a throwaway stack (no full synth)."""
    arns = Arns(settings=settings, account="123456789012")
    props = ArtifactBucketProps(settings=settings, arns=arns, kms_key_arn="arn:aws:kms:k")
    stack = TerraformStack(App(), "artifacts")
    ArtifactBucket(stack, "a", props=props)
    return json.loads(CdktfTesting.synth(stack))


def test_the_retention_is_the_setting() -> None:
    settings = load_settings(environ={"CLOUDAGENT_ARTIFACT_RETENTION_DAYS": "7"})
    synthesized = _synth_bucket(settings)
    [lifecycle] = synthesized["resource"]["aws_s3_bucket_lifecycle_configuration"].values()
    assert lifecycle["rule"][0]["expiration"] == [{"days": 7}]
    [bucket] = synthesized["resource"]["aws_s3_bucket"].values()
    assert bucket["bucket"] == "cloudagent-dev-artifacts-123456789012-us-east-1"


def test_a_name_longer_than_s3_allows_stops_synth_naming_env_name() -> None:
    environ = {"CLOUDAGENT_ENV_NAME": "productioneu0001", "CLOUDAGENT_REGION": "ap-southeast-2"}
    with pytest.raises(SettingsError) as error:
        load_settings(environ=environ)
    message = str(error.value)
    assert message.startswith("setting 'env_name' (CLOUDAGENT_ENV_NAME): 'productioneu0001'")
    assert "65 characters and S3 allows 63" in message
    assert "at most 14 characters" in message
    # The longest that fits, to the character.
    settings = load_settings(
        environ={**environ, "CLOUDAGENT_ENV_NAME": "production0001"}  # 14
    )
    name = artifact_bucket_name(settings, "123456789012")
    assert len(name) == S3_BUCKET_NAME_MAX
    assert artifact_bucket_name_problem(settings) is None
    # Built by hand around the loader, the name is still refused.
    with pytest.raises(ValueError, match="too long"):
        artifact_bucket_name(Settings(env_name="productioneu0001", region="ap-southeast-2"), "1")


def test_only_the_control_role_reaches_objects_of_the_bucket(
    api: dict, stacks: dict[str, dict]
) -> None:
    """The api role's GET/PUT on the two prefixes, the key only through S3; the agent task,
    admin and every other role have no S3 object access (the delivery roles: bucket only)."""
    arn = _ref(api, "aws_s3_bucket", "arn")
    statements = {s["Sid"]: s for s in policy_of(api, "-api")}
    objects = statements["ArtifactObjects"]
    assert sorted(objects["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert objects["Resource"] == [f"{arn}/{prefix}*" for prefix in ARTIFACT_PREFIXES]
    assert objects["Resource"] == [f"{arn}/sessions/*", f"{arn}/continuations/*"]
    key = statements["ArtifactKey"]
    assert sorted(key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert key["Resource"].startswith(KEY_FROM_FOUNDATION)
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    # The listing, so that a missing object is 404 NoSuchKey and not 403 (no object reached).
    assert statements["ArtifactListing"]["Action"] == "s3:ListBucket"
    assert statements["ArtifactListing"]["Resource"] == arn
    s3_statements = [s for s in statements.values() if "s3:" in json.dumps(s["Action"])]
    assert [s["Sid"] for s in s3_statements] == ["ArtifactObjects", "ArtifactListing"]

    holders = set()
    for name, role in roles(stacks).items():
        docs = [
            json.loads(p["policy"])
            for p in resources(stacks[role["_stack"]], "aws_iam_role_policy")
            if p["role"] == f"${{aws_iam_role.{role['_key']}.id}}"
        ]
        for doc in docs:
            for statement in doc["Statement"]:
                actions = statement["Action"]
                actions = actions if isinstance(actions, list) else [actions]
                if statement["Effect"] == "Allow" and any(
                    a in ("s3:GetObject", "s3:PutObject") for a in actions
                ):
                    holders.add((name, json.dumps(statement["Resource"])))
    reaching = {name for name, resource in holders if "artifacts" in resource}
    assert reaching == {"api/cloudagent-dev-api"}
    assert not any(name.startswith("agent/") for name, _ in holders), holders


def test_the_policy_builder_names_the_bucket_and_its_objects() -> None:
    statements = json.loads(artifact_bucket_policy_json("arn:aws:s3:::b"))["Statement"]
    resources_named = {json.dumps(s["Resource"]) for s in statements}
    assert resources_named == {'["arn:aws:s3:::b", "arn:aws:s3:::b/*"]', '"arn:aws:s3:::b/*"'}
