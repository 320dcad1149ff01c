"""The `agent` stack: the ECS task definitions the control API runs, two per provider.

Reads top to bottom like the runtime (docs/ARCHITECTURE.md §1 and §4): where its logs go, the
network boundary of a task, the role ECS uses to start it, the roles the agent runs as (a
headless run's, which may do nothing, and a session's, ECS Exec only), then the task
definitions themselves, and the typed `AgentOutputs` the `api` workspace reads. Values from
`foundation` arrive as `FoundationOutputs` (remote state in Terraform).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import TerraformOutput
from constructs import Construct

from stacks.agent.container import task_family
from stacks.agent.network import TaskSecurityGroup, TaskSecurityGroupProps
from stacks.agent.roles import AgentRoles, AgentRolesProps
from stacks.agent.task_definitions import TaskDefinitions, TaskDefinitionsProps
from stacks.foundation import FoundationOutputs
from stacks.shared.constants import (
    AGENT_CONTAINER_NAME,
    MODEL_PROXY_CONTAINER_NAME,
    REPO_INIT_CONTAINER_NAME,
)
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings
from stacks.shared.stack import CloudAgentStack


@dataclass(frozen=True)
class AgentOutputs:
    """What the `api` workspace may read of `agent`, and nothing else."""

    # provider -> task definition family; one per provider, each injecting only its key.
    task_definition_families: Mapping[str, str]
    # provider -> ARN without the revision: RunTask takes the family's latest ACTIVE revision,
    # so re-applying only `agent` (which retires the old revision) keeps the API working.
    task_definition_arns_without_revision: Mapping[str, str]
    # The same for the `-repo` families (with repo-init): runs with a repository.
    repo_task_definition_families: Mapping[str, str]
    repo_task_definition_arns_without_revision: Mapping[str, str]
    # The task definitions' task role: a headless run's, with no permission at all.
    task_role_arn: str
    # What a session runs as instead (RunTask's overrides.taskRoleArn): ECS Exec only.
    exec_role_arn: str
    execution_role_arn: str
    security_group_id: str
    log_group_name: str
    log_group_arn: str
    container_name: str
    model_proxy_container_name: str
    repo_init_container_name: str


class AgentStack(CloudAgentStack):
    """Agent log group, task security group, execution, task and exec roles, the task
    definitions."""

    def __init__(
        self, scope: Construct, id: str, *, settings: Settings, foundation: FoundationOutputs
    ) -> None:
        super().__init__(scope, id, settings=settings)
        name = task_family(settings)

        self.log_group = project_log_group(
            self,
            "log_group",
            name=settings.log_group_name("agent"),
            kms_key_arn=foundation.key_arn,
        )
        # No inbound at all; outbound only HTTPS (model APIs, git) and DNS to the VPC resolver.
        self.security_group = TaskSecurityGroup(
            self,
            "task_network",
            props=TaskSecurityGroupProps(
                name=name, vpc_id=foundation.vpc_id, vpc_cidr=settings.vpc_cidr
            ),
        ).security_group
        roles = AgentRoles(
            self,
            "roles",
            props=AgentRolesProps(
                name=name, arns=self.arns, foundation=foundation, log_group_arn=self.log_group.arn
            ),
        )
        self.execution_role = roles.execution_role
        self.task_role = roles.task_role
        self.exec_role = roles.exec_role
        definitions = TaskDefinitions(
            self,
            "task_definitions",
            props=TaskDefinitionsProps(
                settings=settings,
                foundation=foundation,
                execution_role_arn=self.execution_role.arn,
                task_role_arn=self.task_role.arn,
                log_group_name=self.log_group.name,
            ),
        )
        self.task_definitions = definitions.by_provider
        self.repo_task_definitions = definitions.repo_by_provider

        self.outputs = self._typed_outputs()
        self._output_values()

    def _typed_outputs(self) -> AgentOutputs:
        """What the `api` workspace reads: both families per provider, roles, network, logs."""
        return AgentOutputs(
            task_definition_families={p: d.family for p, d in self.task_definitions.items()},
            task_definition_arns_without_revision={
                p: d.arn_without_revision for p, d in self.task_definitions.items()
            },
            repo_task_definition_families={
                p: d.family for p, d in self.repo_task_definitions.items()
            },
            repo_task_definition_arns_without_revision={
                p: d.arn_without_revision for p, d in self.repo_task_definitions.items()
            },
            task_role_arn=self.task_role.arn,
            exec_role_arn=self.exec_role.arn,
            execution_role_arn=self.execution_role.arn,
            security_group_id=self.security_group.id,
            log_group_name=self.log_group.name,
            log_group_arn=self.log_group.arn,
            container_name=AGENT_CONTAINER_NAME,
            model_proxy_container_name=MODEL_PROXY_CONTAINER_NAME,
            repo_init_container_name=REPO_INIT_CONTAINER_NAME,
        )

    def _output_values(self) -> None:
        """What an operator reads after apply (the `api` workspace reads `self.outputs`)."""
        for output, value in {
            "task_definition_arns": {p: d.arn for p, d in self.task_definitions.items()},
            "repo_task_definition_arns": {p: d.arn for p, d in self.repo_task_definitions.items()},
            "task_role_arn": self.task_role.arn,
            "exec_role_arn": self.exec_role.arn,
            "execution_role_arn": self.execution_role.arn,
            "container_name": AGENT_CONTAINER_NAME,
            "log_group_name": self.log_group.name,
            "security_group_id": self.security_group.id,
        }.items():
            TerraformOutput(self, output, value=value)
