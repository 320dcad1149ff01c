"""Where agent tasks run and where their image comes from: the ECS cluster and ECR repository."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_cluster import (
    EcsCluster,
    EcsClusterConfiguration,
    EcsClusterConfigurationExecuteCommandConfiguration,
    EcsClusterConfigurationExecuteCommandConfigurationLogConfiguration,
    EcsClusterSetting,
)
from cdktf_cdktf_provider_aws.ecs_cluster_capacity_providers import (
    EcsClusterCapacityProviders,
    EcsClusterCapacityProvidersDefaultCapacityProviderStrategy,
)
from constructs import Construct

from stacks.shared.constants import ECR_IMAGES_KEPT, FARGATE_CAPACITY_PROVIDERS
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings


class Compute(Construct):
    """ECS cluster with Container Insights (enhanced) and audited ECS Exec; the image repo."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, kms_key_arn: str) -> None:
        super().__init__(scope, id)
        # Every `aws ecs execute-command` session is recorded here, encrypted.
        self.exec_log_group = project_log_group(
            self,
            "exec_logs",
            name=settings.log_group_name("ecs-exec"),
            kms_key_arn=kms_key_arn,
        )
        self.cluster = EcsCluster(
            self,
            "cluster",
            name=settings.prefix,
            setting=[EcsClusterSetting(name="containerInsights", value="enhanced")],
            configuration=EcsClusterConfiguration(
                execute_command_configuration=EcsClusterConfigurationExecuteCommandConfiguration(
                    kms_key_id=kms_key_arn,
                    logging="OVERRIDE",
                    log_configuration=EcsClusterConfigurationExecuteCommandConfigurationLogConfiguration(
                        cloud_watch_log_group_name=self.exec_log_group.name,
                        cloud_watch_encryption_enabled=True,
                    ),
                )
            ),
        )

        self._capacity_providers()
        self.repository = self._repository(settings, kms_key_arn)

    def _capacity_providers(self) -> None:
        # Both Fargate capacity providers, whatever the setting `capacity` says: associating them
        # costs nothing, and switching `capacity` then changes only the control Lambda's
        # environment, never the cluster. A RunTask without a strategy still gets on-demand.
        EcsClusterCapacityProviders(
            self,
            "capacity_providers",
            cluster_name=self.cluster.name,
            capacity_providers=list(FARGATE_CAPACITY_PROVIDERS),
            default_capacity_provider_strategy=[
                EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider="FARGATE", weight=1
                )
            ],
        )

    def _repository(self, settings: Settings, kms_key_arn: str) -> EcrRepository:
        """The agent image's repository: immutable tags, scanned on push, the last few kept."""
        repository = EcrRepository(
            self,
            "repository",
            name=f"{settings.prefix}-agent",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[
                EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=kms_key_arn)
            ],
        )
        EcrLifecyclePolicy(
            self,
            "repository_lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"Keep the last {ECR_IMAGES_KEPT} images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": ECR_IMAGES_KEPT,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
        )
        return repository
