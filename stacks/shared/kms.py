"""Key policies for the project's customer-managed KMS keys.

A key policy is attached to its key, where AWS requires `Resource: "*"` (it means "this key").
Actions are listed one by one instead of the console default `kms:*`, so the policy grants
nothing it does not name; CloudWatch Logs may use the key only for the log groups named.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

# Key administration and use by the account root (IAM policies then decide who may).
ROOT_KEY_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# What CloudWatch Logs needs to encrypt and read a log group with the key.
LOGS_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


def key_policy_json(*, account_root: str, logs_region: str, log_group_arns: Sequence[str]) -> str:
    """The account administers the key; Logs in `logs_region` may use it for `log_group_arns`
    (ARN patterns) only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": account_root},
                    "Action": list(ROOT_KEY_ACTIONS),
                    "Resource": "*",
                },
                {
                    "Sid": "LogsEncryptProjectLogGroups",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{logs_region}.amazonaws.com"},
                    "Action": list(LOGS_KEY_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": list(log_group_arns)}
                    },
                },
            ],
        }
    )
