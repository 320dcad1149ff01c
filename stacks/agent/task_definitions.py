"""Two ECS task definitions per model provider, each holding its own provider's key and no other.

A tool the agent runs can read every variable of its container's processes, so the split by
provider is the boundary between keys, and inside a task the key sits on the `model-proxy`
sidecar, never on the agent. Per provider: `<prefix>-agent-<provider>` (proxy + agent) and
`<prefix>-agent-<provider>-repo` (repo-init + proxy + agent, for runs with a repository); the
control API picks by the run's provider and whether it has a repository. The definitions are
created in the stack's scope so their Terraform logical ids stay put (`task_definition_<p>`,
and `task_definition_<p>_repo` for the new families).
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

from stacks.agent.container import (
    TASK_VOLUMES,
    container_definitions,
    provider_repo_task_family,
    provider_task_family,
)
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
    """Fargate task definitions by provider: without and with repo-init, only that key."""

    def __init__(self, scope: Construct, id: str, *, props: TaskDefinitionsProps) -> None:
        super().__init__(scope, id)
        self._scope = scope
        self._props = props
        self.by_provider: dict[str, EcsTaskDefinition] = {}
        self.repo_by_provider: dict[str, EcsTaskDefinition] = {}
        for provider in sorted(dict(props.foundation.provider_secret_arns)):
            self.by_provider[provider] = self._definition(provider, with_repo=False)
            self.repo_by_provider[provider] = self._definition(provider, with_repo=True)

    def _definition(self, provider: str, *, with_repo: bool) -> EcsTaskDefinition:
        """One family: the largest Fargate shape, the task's two volumes, its containers."""
        settings = self._props.settings
        foundation = self._props.foundation
        return EcsTaskDefinition(
            self._scope,
            f"task_definition_{provider}_repo" if with_repo else f"task_definition_{provider}",
            family=(provider_repo_task_family if with_repo else provider_task_family)(
                settings, provider
            ),
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
            execution_role_arn=self._props.execution_role_arn,
            task_role_arn=self._props.task_role_arn,
            volume=[EcsTaskDefinitionVolume(name=name) for name in TASK_VOLUMES],
            container_definitions=container_definitions(
                settings,
                image=f"{foundation.repository_url}:{settings.agent_image_tag}",
                log_group=self._props.log_group_name,
                provider=provider,
                secret_arn=dict(foundation.provider_secret_arns)[provider],
                with_repo=with_repo,
                repo_token_secret_arn=foundation.repo_token_secret_arn,
            ),
        )
