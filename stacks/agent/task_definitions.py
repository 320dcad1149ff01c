"""One ECS task definition per model provider, each holding its own provider's key and no other.

A tool the agent runs can read every variable of the task's processes, so the split by provider
is the boundary between keys; the control API picks the definition of the run's provider. The
definitions are created in the stack's scope so their Terraform logical ids stay put.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionEphemeralStorage,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from constructs import Construct

from stacks.agent.container import WORKSPACE_VOLUME, container_definitions, provider_task_family
from stacks.foundation import FoundationOutputs
from stacks.shared.constants import TASK_CPU_UNITS, TASK_EPHEMERAL_STORAGE_GIB, TASK_MEMORY_MIB
from stacks.shared.settings import Settings


@dataclass(frozen=True)
class TaskDefinitionsProps:
    """The roles and log group the definitions name; the image and keys come from foundation."""

    settings: Settings
    foundation: FoundationOutputs
    execution_role_arn: str
    task_role_arn: str
    log_group_name: str


class TaskDefinitions(Construct):
    """Fargate task definitions by provider: same container, only that provider's key."""

    def __init__(self, scope: Construct, id: str, *, props: TaskDefinitionsProps) -> None:
        super().__init__(scope, id)
        settings = props.settings
        foundation = props.foundation
        self.by_provider: dict[str, EcsTaskDefinition] = {}
        for provider, secret_arn in sorted(dict(foundation.provider_secret_arns).items()):
            self.by_provider[provider] = EcsTaskDefinition(
                scope,
                f"task_definition_{provider}",
                family=provider_task_family(settings, provider),
                requires_compatibilities=["FARGATE"],
                network_mode="awsvpc",
                cpu=str(TASK_CPU_UNITS),
                memory=str(TASK_MEMORY_MIB),
                ephemeral_storage=EcsTaskDefinitionEphemeralStorage(
                    size_in_gib=TASK_EPHEMERAL_STORAGE_GIB
                ),
                runtime_platform=EcsTaskDefinitionRuntimePlatform(
                    operating_system_family="LINUX", cpu_architecture=settings.agent_architecture
                ),
                execution_role_arn=props.execution_role_arn,
                task_role_arn=props.task_role_arn,
                volume=[EcsTaskDefinitionVolume(name=WORKSPACE_VOLUME)],
                container_definitions=container_definitions(
                    settings,
                    image=f"{foundation.repository_url}:{settings.agent_image_tag}",
                    log_group=props.log_group_name,
                    provider=provider,
                    secret_arn=secret_arn,
                    repo_token_secret_arn=foundation.repo_token_secret_arn,
                ),
            )
