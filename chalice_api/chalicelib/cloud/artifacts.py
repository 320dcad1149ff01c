"""The artifact bucket: the sessions runs save and the bundles continuations start from.

Two kinds of object, each under its own prefix (the api role may touch nothing else):

* ``sessions/<run_id>.jsonl`` - pi's session, PUT by the run's agent container at its end
  with a presigned URL (the task role has no S3 permission at all);
* ``continuations/<run_id>.json`` - what a continued run starts from, written here by the
  API and read by the run's repo-init container with a presigned GET.

Presigned URLs are SigV4 on the regional virtual-hosted name ``<bucket>.s3.<region>.
amazonaws.com`` - us-east-1 included (its legacy global name is not on the DNS Firewall's
allow-list, which names exactly the regional one). With an endpoint override
(``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``: ``make up``'s moto) the URL is path style
on that endpoint instead: a bucket-name subdomain of a local address does not resolve.
The bucket's default encryption (SSE-KMS) applies to every PUT, so no encryption header is
sent or signed; neither is the Content-Type, so the uploader's choice of it cannot break the
signature.
"""

from __future__ import annotations

import os
from typing import Any

from ..core import aws

SESSION_PREFIX = "sessions/"
BUNDLE_PREFIX = "continuations/"
# The variables botocore reads an endpoint override from (S3's own first).
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# Answers that mean the object is not there. Without s3:ListBucket S3 answers a missing
# key with AccessDenied instead; that one is reported apart (ArtifactUnreadable).
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden"})


def session_key(run_id: str) -> str:
    """Where a run's agent saves its session."""
    return f"{SESSION_PREFIX}{run_id}.jsonl"


def bundle_key(run_id: str) -> str:
    """Where a continued run's bundle is written."""
    return f"{BUNDLE_PREFIX}{run_id}.json"


def endpoint_override(env: dict[str, str] | None = None) -> bool:
    """Whether botocore talks to an endpoint other than AWS's (then URLs are path style)."""
    env = dict(os.environ if env is None else env)
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


class ArtifactMissing(Exception):
    """The object does not exist (``code`` is what S3 answered)."""

    def __init__(self, key: str, code: str):
        super().__init__(f"{key}: {code}")
        self.key, self.code = key, code


class ArtifactUnreadable(Exception):
    """S3 refused the read (``code``): no permission, or - without s3:ListBucket - no object."""

    def __init__(self, key: str, code: str):
        super().__init__(f"{key}: {code}")
        self.key, self.code = key, code


class ArtifactTooLarge(Exception):
    """The object is larger than the caller reads (``size`` bytes); nothing was downloaded."""

    def __init__(self, key: str, size: int):
        super().__init__(f"{key}: {size} bytes")
        self.key, self.size = key, size


class Artifacts:
    """Thin adapter over one bucket: bounded reads, bundle writes, presigned URLs."""

    def __init__(self, bucket: str, client: Any | None = None):
        self.bucket = bucket
        self._client = client

    @property
    def s3(self) -> Any:
        """The S3 client presigning as the contract says (created on first use)."""
        if self._client is None:
            style = "path" if endpoint_override() else "virtual"
            self._client = aws.client(
                "s3",
                s3={"addressing_style": style, "us_east_1_regional_endpoint": "regional"},
                signature="s3v4",
            )
        return self._client

    def read(self, key: str, max_bytes: int) -> bytes:
        """The object's bytes; ArtifactMissing, ArtifactUnreadable or ArtifactTooLarge (a
        larger object is not downloaded: its writer may be an agent that ignored the cap)."""
        try:
            resp = self.s3.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            code = aws.error_code(exc)
            if code in MISSING_CODES:
                raise ArtifactMissing(key, code) from None
            if code in DENIED_CODES:
                raise ArtifactUnreadable(key, code) from None
            raise
        body = resp["Body"]
        try:
            size = int(resp.get("ContentLength") or 0)
            if size > max_bytes:
                raise ArtifactTooLarge(key, size)
            data = body.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ArtifactTooLarge(key, len(data))
            return data
        finally:
            body.close()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Write one object (the bucket's default encryption applies)."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def presigned_put(self, key: str, expires_seconds: int) -> str:
        """A URL anyone holding it may PUT ``key`` with, until it expires."""
        return str(
            self.s3.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_seconds,
            )
        )

    def presigned_get(self, key: str, expires_seconds: int) -> str:
        """A URL anyone holding it may GET ``key`` with, until it expires."""
        return str(
            self.s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_seconds,
            )
        )
