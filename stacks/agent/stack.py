"""The `agent` stack: the one ECS task definition the control API runs.

Reads top to bottom like the runtime (docs/ARCHITECTURE.md §1 and §4): where its logs go, the
network boundary of a task, the role ECS uses to start it, the role the agent runs as, then the
task definition itself, and the typed `AgentOutputs` the `api` workspace reads. Values from
`foundation` arrive as `FoundationOutputs` (remote state in Terraform).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionEphemeralStorage,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup, SecurityGroupEgress
from constructs import Construct

from stacks.agent.container import (
    WORKSPACE_VOLUME,
    container_definitions,
    provider_task_family,
    task_family,
)
from stacks.foundation import FoundationOutputs
from stacks.shared.actions import (
    ECR_LOGIN,
    ECR_PULL,
    ECS_EXEC_CHANNELS,
    KEY_DECRYPT,
    LOG_STREAM_WRITE,
)
from stacks.shared.constants import (
    AGENT_CONTAINER_NAME,
    TASK_CPU_UNITS,
    TASK_EPHEMERAL_STORAGE_GIB,
    TASK_MEMORY_MIB,
)
from stacks.shared.egress import DNS_PORT, HTTPS_PORT, resolver_cidr
from stacks.shared.iam import Statement, role_with_policy, service_trust_json
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
    task_role_arn: str
    execution_role_arn: str
    security_group_id: str
    log_group_name: str
    log_group_arn: str
    container_name: str


class AgentStack(CloudAgentStack):
    """Agent log group, task security group, execution and task roles, the task definition."""

    def __init__(
        self, scope: Construct, id: str, *, settings: Settings, foundation: FoundationOutputs
    ) -> None:
        super().__init__(scope, id, settings=settings)
        key_arn = foundation.key_arn
        secret_arns = dict(foundation.provider_secret_arns)
        exec_log_group_arn = foundation.exec_log_group_arn
        name = task_family(settings)

        self.log_group = project_log_group(
            self,
            "log_group",
            name=settings.log_group_name("agent"),
            kms_key_arn=key_arn,
        )

        # No inbound at all; outbound only HTTPS (model APIs, git) and DNS to the VPC resolver
        # alone (base + 2): any other DNS server would bypass the DNS Firewall (CKV_CA_18).
        resolver = resolver_cidr(settings.vpc_cidr)
        self.security_group = SecurityGroup(
            self,
            "tasks_sg",
            name=f"{name}-tasks",
            description="Agent tasks: no inbound; outbound HTTPS and DNS only",
            vpc_id=foundation.vpc_id,
            ingress=[],
            egress=[
                SecurityGroupEgress(
                    description="HTTPS to model providers and code hosts",
                    protocol="tcp",
                    from_port=HTTPS_PORT,
                    to_port=HTTPS_PORT,
                    cidr_blocks=["0.0.0.0/0"],
                ),
                SecurityGroupEgress(
                    description="DNS (UDP) to the VPC resolver",
                    protocol="udp",
                    from_port=DNS_PORT,
                    to_port=DNS_PORT,
                    cidr_blocks=[resolver],
                ),
                SecurityGroupEgress(
                    description="DNS (TCP) to the VPC resolver",
                    protocol="tcp",
                    from_port=DNS_PORT,
                    to_port=DNS_PORT,
                    cidr_blocks=[resolver],
                ),
            ],
        )

        # ECS sends the task's ARN as aws:SourceArn: only this account's tasks may take the roles.
        ecs_tasks_trust = service_trust_json(
            "ecs-tasks.amazonaws.com", self.arns.source_conditions("ecs")
        )
        secrets = list(secret_arns.values())
        if foundation.repo_token_secret_arn:
            secrets.append(foundation.repo_token_secret_arn)
        self.execution_role = role_with_policy(
            self,
            "execution_role",
            name=f"{name}-execution",
            # ECS, not the agent, uses this role: the agent's code never holds its credentials.
            description="ECS starts the agent: pull its image, write its logs, inject its key",
            trust_policy=ecs_tasks_trust,
            statements=[
                Statement(
                    sid="RegistryLogin",
                    # ecr:GetAuthorizationToken has no resource type; AWS accepts only "*".
                    actions=ECR_LOGIN,
                    resources=["*"],
                ),
                Statement(
                    sid="PullAgentImage",
                    actions=ECR_PULL,
                    resources=[foundation.repository_arn],
                ),
                Statement(
                    sid="WriteAgentLogs",
                    actions=LOG_STREAM_WRITE,
                    resources=[f"{self.log_group.arn}:log-stream:*"],
                ),
                Statement(
                    sid="ReadProviderKeys",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=secrets,
                ),
                Statement(
                    sid="DecryptWithProjectKey",
                    actions=KEY_DECRYPT,
                    resources=[key_arn],
                ),
            ],
        )

        self.task_role = role_with_policy(
            self,
            "task_role",
            name=f"{name}-task",
            # The agent runs model-chosen commands with these credentials: the ECS Exec channels
            # and nothing else. No Secrets Manager (ECS injects the key with the execution role),
            # no DynamoDB (the result travels in the log stream), nothing on S3, IAM or STS.
            description="What the agent itself may do: ECS Exec, and nothing else",
            trust_policy=ecs_tasks_trust,
            statements=[
                Statement(
                    # ECS Exec sessions are encrypted with the project key (cluster setting).
                    sid="DecryptExecSessions",
                    actions=KEY_DECRYPT,
                    resources=[key_arn],
                ),
                Statement(
                    sid="EcsExecChannels",
                    # The ssmmessages channel actions have no resource type; AWS accepts only "*".
                    actions=ECS_EXEC_CHANNELS,
                    resources=["*"],
                ),
                Statement(
                    sid="EcsExecSessionLogs",
                    actions=[
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                    ],
                    resources=[exec_log_group_arn, f"{exec_log_group_arn}:log-stream:*"],
                ),
            ],
        )

        self.task_definitions: dict[str, EcsTaskDefinition] = {}
        for provider, secret_arn in sorted(secret_arns.items()):
            self.task_definitions[provider] = EcsTaskDefinition(
                self,
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
                execution_role_arn=self.execution_role.arn,
                task_role_arn=self.task_role.arn,
                volume=[EcsTaskDefinitionVolume(name=WORKSPACE_VOLUME)],
                container_definitions=container_definitions(
                    settings,
                    image=f"{foundation.repository_url}:{settings.agent_image_tag}",
                    log_group=self.log_group.name,
                    provider=provider,
                    secret_arn=secret_arn,
                    repo_token_secret_arn=foundation.repo_token_secret_arn,
                ),
            )

        self.outputs = AgentOutputs(
            task_definition_families={p: d.family for p, d in self.task_definitions.items()},
            task_definition_arns_without_revision={
                p: d.arn_without_revision for p, d in self.task_definitions.items()
            },
            task_role_arn=self.task_role.arn,
            execution_role_arn=self.execution_role.arn,
            security_group_id=self.security_group.id,
            log_group_name=self.log_group.name,
            log_group_arn=self.log_group.arn,
            container_name=AGENT_CONTAINER_NAME,
        )
        for output, value in {
            "task_definition_arns": {p: d.arn for p, d in self.task_definitions.items()},
            "task_role_arn": self.task_role.arn,
            "execution_role_arn": self.execution_role.arn,
            "container_name": AGENT_CONTAINER_NAME,
            "log_group_name": self.log_group.name,
            "security_group_id": self.security_group.id,
        }.items():
            TerraformOutput(self, output, value=value)
