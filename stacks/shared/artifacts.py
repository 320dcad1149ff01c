"""The artifact bucket's name, host and object prefixes, computed one way for every stack.

The `api` stack owns the bucket (stacks/api/artifacts.py). `foundation` names it before it
exists — the DNS Firewall allows its host, the deploy and plan roles are scoped to its ARN —
and is applied first, so it cannot read the name from the api workspace: both compute it here.
The account is part of the name (bucket names are global), so the name is known to both stacks
as `<prefix>-artifacts-<account>-<region>` and to nobody else's.
"""

from __future__ import annotations

from stacks.shared.settings import Settings

# What the bucket holds (docs/ARCHITECTURE.md §4): a run's conversation, written by the agent
# container with a presigned PUT, and a continued run's bundle, written by the control Lambda
# and read by repo-init with a presigned GET. The control Lambda's role reaches these only.
SESSIONS_PREFIX = "sessions/"
CONTINUATIONS_PREFIX = "continuations/"
ARTIFACT_PREFIXES = (SESSIONS_PREFIX, CONTINUATIONS_PREFIX)

# S3's limit on a bucket name, and the length of the account id the name carries.
S3_BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12


def artifact_bucket_name(settings: Settings, account: str) -> str:
    """`<prefix>-artifacts-<account>-<region>`; `account` may be a Terraform reference."""
    problem = artifact_bucket_name_problem(settings)
    if problem:
        raise ValueError(problem)
    return _name(settings, account)


def artifact_bucket_pattern(settings: Settings) -> str:
    """Every artifact bucket of this environment, whatever the account: `<prefix>-artifacts-*`."""
    return f"{settings.prefix}-artifacts-*"


def artifact_bucket_host(settings: Settings, account: str) -> str:
    """The one S3 host the presigned URLs name: virtual-hosted style, regional (also in
    us-east-1). The DNS Firewall allows exactly this name, never `*.s3...`."""
    return f"{artifact_bucket_name(settings, account)}.s3.{settings.region}.amazonaws.com"


def artifact_bucket_name_problem(settings: Settings) -> str | None:
    """Why this environment's bucket name would not fit S3's 63 characters, or None.

    The env name and the region are what vary; the setting loader reports it as a bad
    `env_name` (stacks/shared/setting_loader.py), before any stack is built.
    """
    example = _name(settings, "0" * ACCOUNT_ID_LENGTH)
    if len(example) <= S3_BUCKET_NAME_MAX:
        return None
    room = len(settings.env_name) - (len(example) - S3_BUCKET_NAME_MAX)
    return (
        f"{settings.env_name!r} is too long for region {settings.region}: the artifact bucket "
        f"{_name(settings, '<account>')} would have {len(example)} characters and S3 allows "
        f"{S3_BUCKET_NAME_MAX}; use an env_name of at most {room} characters in this region"
    )


def _name(settings: Settings, account: str) -> str:
    return f"{settings.prefix}-artifacts-{account}-{settings.region}"
