"""CKV_CA_26: an S3 bucket of the stacks is private, KMS-encrypted, TLS-only, and forgets.

The one bucket is the artifact bucket (stacks/api/artifacts.py): agents' conversations and the
bundles continued runs start from. A resource check sees one resource at a time, so the
guarantee is judged on the resources that carry it, each on its own terms:

* `aws_s3_bucket_public_access_block`: all four blocks on;
* `aws_s3_bucket_ownership_controls`: `BucketOwnerEnforced` (ACLs disabled, the account owns
  every object);
* `aws_s3_bucket_server_side_encryption_configuration`: `aws:kms` with a named key (the
  project's customer-managed key, not AWS's `aws/s3`) and an S3 Bucket Key;
* `aws_s3_bucket_policy`: a Deny for every principal of every S3 action on the bucket and its
  objects when `aws:SecureTransport` is false, and no Allow to every principal;
* `aws_s3_bucket_lifecycle_configuration`: an enabled rule over every object that expires them
  within 365 days (the bound of `artifact_retention_days`) and aborts unfinished multipart
  uploads within 7;
* `aws_s3_bucket`: no ACL and no website of its own.

That each bucket has every one of these resources is Checkov's own graph checks' (public
access block, KMS encryption, lifecycle; tests/stacks/api/test_artifacts.py for the rest).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import (
    ProjectCheck,
    Unknown,
    as_list,
    attr,
    blocks,
    is_plan,
    json_attr,
    plain,
    principals,
    statements,
    unwrap,
)

PUBLIC_ACCESS_BLOCKS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
MAX_EXPIRATION_DAYS = 365
MAX_ABORT_DAYS = 7


def _true(value: Any) -> bool:
    value = unwrap(value)
    return value is True or str(value).lower() == "true"


def _int(value: Any) -> int | None:
    try:
        return int(unwrap(value))
    except (TypeError, ValueError):
        return None


def _public_access(conf: dict[str, Any]) -> list[str]:
    return [
        f"{flag} is {attr(conf, flag)!r}"
        for flag in PUBLIC_ACCESS_BLOCKS
        if not _true(conf.get(flag))
    ]


def _ownership(conf: dict[str, Any]) -> list[str]:
    ownership = [unwrap(b.get("object_ownership")) for b in blocks(conf.get("rule"))]
    if ownership == ["BucketOwnerEnforced"]:
        return []
    return [f"object_ownership {ownership!r}: ACLs stay enabled unless BucketOwnerEnforced"]


def _encryption(conf: dict[str, Any]) -> list[str]:
    rules = blocks(conf.get("rule"))
    if not rules:
        return ["no encryption rule"]
    found = []
    for rule in rules:
        default = blocks(rule.get("apply_server_side_encryption_by_default"))
        algorithm = unwrap(default[0].get("sse_algorithm")) if default else None
        if algorithm not in KMS_ALGORITHMS:
            found.append(f"sse_algorithm {algorithm!r}: objects must be encrypted with KMS")
            continue
        key = unwrap(default[0].get("kms_master_key_id"))
        if not key:
            if is_plan(conf) and "kms_master_key_id" not in default[0]:
                raise Unknown("kms_master_key_id is not known until apply")
            found.append("no kms_master_key_id: AWS's aws/s3 key, not the project's")
        if not _true(rule.get("bucket_key_enabled")):
            found.append("bucket_key_enabled is not true: one KMS call per object")
    return found


def _policy(conf: dict[str, Any]) -> list[str]:
    found = []
    tls_only = False
    for statement in statements(json_attr(conf, "policy")):
        everyone = any(value == "*" for _, value in principals(statement.principal))
        if statement.allows and everyone:
            found.append(f"{statement.name}: allows every principal")
        if statement.allows or not everyone:
            continue
        all_actions = any(a in ("*", "s3:*") for a in statement.actions)
        bucket_and_objects = any("/" not in r.split(":::", 1)[-1] for r in statement.resources)
        bucket_and_objects &= any(r.endswith("/*") for r in statement.resources)
        insecure = statement.conditions.get("Bool", {}).get("aws:SecureTransport")
        if all_actions and bucket_and_objects and as_list(insecure) == ["false"]:
            tls_only = True
    if not tls_only:
        found.append(
            "no Deny of s3:* on the bucket and its objects for every principal when "
            "aws:SecureTransport is false: plain HTTP is allowed"
        )
    return found


def _whole_bucket(rule: dict[str, Any]) -> bool:
    """The rule applies to every object: no filter, or an empty one (or prefix "")."""
    if unwrap(rule.get("prefix")):
        return False
    for found in blocks(rule.get("filter")):
        for value in plain(found).values():
            if unwrap(value) not in (None, "", 0, [], {}):
                return False
    return True


def _lifecycle(conf: dict[str, Any]) -> list[str]:
    rules = [
        r
        for r in blocks(conf.get("rule"))
        if unwrap(r.get("status")) == "Enabled" and _whole_bucket(r)
    ]
    expiry = [_int(e.get("days")) for r in rules for e in blocks(r.get("expiration"))]
    abort = [
        _int(a.get("days_after_initiation"))
        for r in rules
        for a in blocks(r.get("abort_incomplete_multipart_upload"))
    ]
    found = []
    if not any(d is not None and 1 <= d <= MAX_EXPIRATION_DAYS for d in expiry):
        found.append(
            f"no enabled rule over every object expires it within {MAX_EXPIRATION_DAYS} days "
            f"(expiration days {expiry!r})"
        )
    if not any(d is not None and 1 <= d <= MAX_ABORT_DAYS for d in abort):
        found.append(
            f"no enabled rule over every object aborts unfinished multipart uploads within "
            f"{MAX_ABORT_DAYS} days ({abort!r})"
        )
    return found


def _bucket(conf: dict[str, Any]) -> list[str]:
    found = []
    acl = attr(conf, "acl")
    if acl not in (None, "", "private"):
        found.append(f"acl {acl!r}")
    if blocks(conf.get("grant")):
        found.append("grants an ACL")
    if blocks(conf.get("website")):
        found.append("serves a website")
    return found


JUDGES = {
    "aws_s3_bucket_public_access_block": _public_access,
    "aws_s3_bucket_ownership_controls": _ownership,
    "aws_s3_bucket_server_side_encryption_configuration": _encryption,
    "aws_s3_bucket_policy": _policy,
    "aws_s3_bucket_lifecycle_configuration": _lifecycle,
    "aws_s3_bucket": _bucket,
}


class S3BucketPrivateKmsTlsExpiring(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="S3 buckets are private (every public-access block, ACLs disabled), encrypted "
            "with a named KMS key and a bucket key, TLS-only, and expire every object",
            id="CKV_CA_26",
            resources=sorted(JUDGES),
            categories=[CheckCategories.ENCRYPTION],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        return JUDGES[self.entity_type](conf)


check = S3BucketPrivateKmsTlsExpiring()
