"""The shared value CloudFront sends and the control plane checks: how the API knows the edge.

Both the distribution (stacks/api/edge.py) and the REST API's policy and functions
(stacks/api/control_plane.py) need it, so it is its own construct that the stack creates first
and hands to both; why the value guards only the WAF bypass is told in stacks/api/edge.py.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_secretsmanager_random_password import (
    DataAwsSecretsmanagerRandomPassword,
)
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from stacks.shared.settings import Settings


class OriginVerifySecret(Construct):
    """The shared value CloudFront sends and the control API checks, kept in Secrets Manager."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, kms_key_arn: str) -> None:
        super().__init__(scope, id)
        name = settings.prefix
        password = DataAwsSecretsmanagerRandomPassword(
            self, "origin_password", password_length=48, exclude_punctuation=True
        )
        self.secret = SecretsmanagerSecret(
            self,
            "origin_secret",
            name=f"{name}/origin-verify",
            description="X-Origin-Verify value sent by CloudFront, checked by the control API",
            kms_key_id=kms_key_arn,
            # Regenerated on every fresh apply, so nothing to recover: deleting it at once lets
            # the api stack be destroyed and applied again without a name clash.
            recovery_window_in_days=0,
        )
        self.version = SecretsmanagerSecretVersion(
            self,
            "origin_secret_value",
            secret_id=self.secret.id,
            secret_string=password.random_password,
            # The data source draws a new password on every plan; keep the first one.
            lifecycle={"ignore_changes": ["secret_string"]},
        )
