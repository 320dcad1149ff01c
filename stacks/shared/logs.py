"""Every project log group the same way: 14-day retention, encrypted with a project key.

One constructor instead of the same three arguments at every call site, so no log group can be
created without the retention the guarantee fixes (CKV_CA_9 checks the output as well).
"""

from __future__ import annotations

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from stacks.shared.constants import LOG_RETENTION_DAYS


def project_log_group(
    scope: Construct,
    id: str,
    *,
    name: str,
    kms_key_arn: str,
    provider: TerraformProvider | None = None,
) -> CloudwatchLogGroup:
    """A log group kept `LOG_RETENTION_DAYS` days and encrypted with `kms_key_arn`."""
    return CloudwatchLogGroup(
        scope,
        id,
        provider=provider,
        name=name,
        retention_in_days=LOG_RETENTION_DAYS,
        kms_key_id=kms_key_arn,
    )
