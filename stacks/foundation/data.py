"""Foundation data plane: the project's KMS key, the single table and the provider-key secrets.

One customer-managed key encrypts the table, the secrets, the image repository and the log
groups, so an operator can revoke the whole deployment's data access in one place.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from stacks.shared.arns import Arns
from stacks.shared.constants import (
    EDGE_REGION,
    PROVIDERS,
    TABLE_PARTITION_KEY,
    TABLE_SORT_KEY,
    TABLE_TIME_INDEX,
    TABLE_TIME_INDEX_PARTITION_KEY,
    TABLE_TIME_INDEX_SORT_KEY,
    TABLE_TTL_ATTRIBUTE,
)
from stacks.shared.kms import key_policy_json
from stacks.shared.settings import Settings


def secret_name(settings: Settings, provider: str) -> str:
    return f"{settings.prefix}/provider/{provider}"


class DataPlane(Construct):
    """KMS key, single DynamoDB table and one secret per model provider."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        arns = Arns.in_scope(self, settings)
        self.key = self._key(settings, arns)
        self.table = self._table(settings)
        self._secrets(settings)

    def _key(self, settings: Settings, arns: Arns) -> KmsKey:
        """The project key, which CloudWatch Logs may use for the project's log groups only."""
        key = KmsKey(
            self,
            "key",
            description=f"{settings.prefix}: table, secrets, images and logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy_json(
                account_root=arns.account_root,
                logs_region=settings.region,
                log_group_arns=[
                    arns.log_group(f"{settings.log_group_prefix}/*"),
                    # In us-east-1 the WAF log group (api stack) shares this key: one key less.
                    *(
                        [arns.log_group(settings.waf_log_group_name, region=EDGE_REGION)]
                        if settings.region == EDGE_REGION
                        else []
                    ),
                ],
            ),
        )
        KmsAlias(self, "key_alias", name=f"alias/{settings.prefix}", target_key_id=key.key_id)
        return key

    def _table(self, settings: Settings) -> DynamodbTable:
        """The one table of runs, with its time index, TTL and point-in-time recovery."""
        return DynamodbTable(
            self,
            "table",
            name=settings.prefix,
            billing_mode="PAY_PER_REQUEST",
            hash_key=TABLE_PARTITION_KEY,
            range_key=TABLE_SORT_KEY,
            attribute=[
                DynamodbTableAttribute(name=TABLE_PARTITION_KEY, type="S"),
                DynamodbTableAttribute(name=TABLE_SORT_KEY, type="S"),
                DynamodbTableAttribute(name=TABLE_TIME_INDEX_PARTITION_KEY, type="S"),
                DynamodbTableAttribute(name=TABLE_TIME_INDEX_SORT_KEY, type="S"),
            ],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=TABLE_TIME_INDEX,
                    hash_key=TABLE_TIME_INDEX_PARTITION_KEY,
                    range_key=TABLE_TIME_INDEX_SORT_KEY,
                    projection_type="ALL",
                )
            ],
            ttl=DynamodbTableTtl(attribute_name=TABLE_TTL_ATTRIBUTE, enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=self.key.arn
            ),
            deletion_protection_enabled=True,
        )

    def _secrets(self, settings: Settings) -> None:
        # Keys are set by the admin function and never pass through code or Terraform state. The
        # secrets start with no value at all: each provider has its own task definition that
        # injects only its key, and the control API refuses a run whose key is not set yet (409)
        # instead of starting a task ECS could not start. No placeholder version: it would make
        # the plan role read secret values on refresh, and a placeholder that lost its label
        # would be recreated by Terraform as AWSCURRENT over the real key.
        self.secrets: dict[str, SecretsmanagerSecret] = {}
        for provider in PROVIDERS:
            secret = SecretsmanagerSecret(
                self,
                f"secret_{provider}",
                name=secret_name(settings, provider),
                description=f"API key for the {provider} model provider",
                kms_key_id=self.key.arn,
            )
            self.secrets[provider] = secret

        # Private repositories (opt-in): one read-only token for the clone, set like the keys.
        # Every agent task gets it, so it must be narrowly scoped: anything a task holds, a
        # determined agent can read (docs/ARCHITECTURE.md §6).
        self.repo_token_secret: SecretsmanagerSecret | None = None
        if settings.private_repos:
            self.repo_token_secret = SecretsmanagerSecret(
                self,
                "secret_repo_token",
                name=f"{settings.prefix}/repo-token",
                description="Read-only GitHub token (contents:read) for cloning private repos",
                kms_key_id=self.key.arn,
            )
