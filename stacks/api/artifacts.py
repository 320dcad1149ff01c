"""The artifact bucket: what a continued run needs of the run it continues, for a while.

Two kinds of objects (stacks/shared/artifacts.py names the prefixes):

* `sessions/<run_id>.jsonl`: the agent's conversation, PUT by the agent container at the end
  of every run with a repository, with a URL the control Lambda presigned;
* `continuations/<run_id>.json`: a continued run's bundle (the chain's patches and the
  conversation), written by the control Lambda and read by repo-init with a presigned URL.

Only the control Lambda's role has S3 permissions on it (`artifact_access_statements`, held
by the role in stacks/api/roles.py); the agent task has none and reaches exactly one object
for one request through each URL. The bucket is as
closed as the rest of the project's data: SSE-KMS with the project key (an S3 Bucket Key, so
KMS is called per bucket key, not per object), all four public-access blocks, ACLs disabled
(BucketOwnerEnforced), and a policy that refuses plain HTTP and any PUT that names its own
encryption, so every object is encrypted with the bucket's default, the project key. Objects
expire after `artifact_retention_days`; no versioning, so an expired object is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from constructs import Construct

from stacks.shared.actions import ARTIFACT_OBJECTS, KEY_USE
from stacks.shared.arns import Arns
from stacks.shared.artifacts import ARTIFACT_PREFIXES, artifact_bucket_name
from stacks.shared.iam import Statement
from stacks.shared.settings import Settings

# An upload the agent started and never completed is cleaned up after a day.
ABORT_INCOMPLETE_UPLOAD_DAYS = 1
# The request headers by which a PUT names its own encryption (S3's condition keys); the bucket
# policy refuses both, so the default encryption (the project key) is the only one.
ENCRYPTION_HEADER_KEYS = (
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
)


@dataclass(frozen=True)
class ArtifactBucketProps:
    settings: Settings
    arns: Arns
    # The project key (foundation): the bucket's default encryption.
    kms_key_arn: str


class ArtifactBucket(Construct):
    """The bucket and its private, encrypted, TLS-only, expiring configuration."""

    def __init__(self, scope: Construct, id: str, *, props: ArtifactBucketProps) -> None:
        super().__init__(scope, id)
        settings = props.settings
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=artifact_bucket_name(settings, props.arns.account),
            # Transient artifacts that expire anyway: destroying the api stack empties the
            # bucket instead of failing on the objects runs left (the deploy role may delete
            # objects of this bucket only, stacks/foundation/github/deploy.py).
            force_destroy=True,
        )
        bucket = self.bucket.id
        public_access = self._close(bucket)
        self._encrypt(bucket, props.kms_key_arn)
        S3BucketPolicy(
            self,
            "policy",
            bucket=bucket,
            policy=artifact_bucket_policy_json(self.bucket.arn),
            # The public-access blocks first, as for any bucket policy; nothing depends on the
            # policy, so `make up` can leave it out (moto reads its conditional denies as
            # unconditional, devtools/plan_only.py).
            depends_on=[public_access],
        )
        self._expire(bucket, settings.artifact_retention_days)

    def _close(self, bucket: str) -> S3BucketPublicAccessBlock:
        """ACLs disabled (the account owns every object) and every public-access block on."""
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        return S3BucketPublicAccessBlock(
            self,
            "public_access",
            bucket=bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )

    def _encrypt(self, bucket: str, kms_key_arn: str) -> None:
        """SSE-KMS with the project key by default, through an S3 Bucket Key."""
        by_default = (
            S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
            )
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=by_default, bucket_key_enabled=True
                )
            ],
        )

    def _expire(self, bucket: str, days: int) -> None:
        """Every object goes after `days`; an upload never completed, after a day."""
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-artifacts",
                    status="Enabled",
                    # An empty filter: every object of the bucket.
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=days)],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=ABORT_INCOMPLETE_UPLOAD_DAYS
                        )
                    ],
                )
            ],
        )


def artifact_bucket_policy_json(bucket_arn: str) -> str:
    """Denies only (who may use the bucket is the roles' business): no plain HTTP, and no PUT
    that names an encryption or key of its own.

    A PUT without those headers — the presigned ones, the control Lambda's own — gets the
    bucket's default encryption; with either header it is refused, since
    `x-amz-server-side-encryption: aws:kms` without a key id would mean AWS's `aws/s3` key.
    """
    objects = f"{bucket_arn}/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, objects],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                *(
                    {
                        "Sid": sid,
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": objects,
                        "Condition": {"Null": {key: "false"}},
                    }
                    for sid, key in zip(
                        ("DenyOwnEncryption", "DenyOwnKey"), ENCRYPTION_HEADER_KEYS, strict=True
                    )
                ),
            ],
        }
    )


def artifact_access_statements(*, bucket_arn: str, key_arn: str, region: str) -> list[Statement]:
    """What the control role holds on the bucket (stacks/api/roles.py): the objects of the two
    prefixes, the bucket's listing, the project key through S3.

    The agent task holds no S3 permission: its URLs are presigned with the control role's
    credentials, so S3 authorizes each against these statements and calls KMS as that role.
    """
    return [
        Statement(
            sid="ArtifactObjects",
            actions=ARTIFACT_OBJECTS,
            resources=[f"{bucket_arn}/{prefix}*" for prefix in ARTIFACT_PREFIXES],
        ),
        Statement(
            # Without it S3 answers a GET of a missing object (a run that saved no
            # conversation) with 403 AccessDenied instead of 404 NoSuchKey, and the control
            # plane could not tell "none" from "refused". It lists run ids, which the run table
            # this role reads already holds.
            sid="ArtifactListing",
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
        ),
        Statement(
            # Only through S3 in this region. `UseProjectKey` allows the same actions without the
            # condition (DynamoDB, Secrets Manager, the functions' encrypted environment); this
            # is what the artifact URLs need on their own.
            sid="ArtifactKey",
            actions=KEY_USE,
            resources=[key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        ),
    ]
