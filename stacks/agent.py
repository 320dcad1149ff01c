"""The `agent` stack: the one ECS task definition the control API runs (DESIGN §1 and §4).

Reads top to bottom like the runtime: where its logs go, the network boundary of a task, the
role ECS uses to start it, the role the agent runs as, then the task definition itself. Values
from `foundation` (table, secrets, repository, key) arrive through remote state.
"""

from __future__ import annotations

import json

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionEphemeralStorage,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup, SecurityGroupEgress
from constructs import Construct

from stacks.base import CloudAgentStack
from stacks.data import TABLE_TIME_INDEX
from stacks.foundation import FoundationStack
from stacks.iam import Statement, role_with_policy, service_trust_json
from stacks.settings import (
    AGENT_CONTAINER_NAME,
    AGENT_MAX_RUNTIME_SECONDS,
    AGENT_STOP_GRACE_SECONDS,
    AGENT_USER_UID,
    AGENT_WORKSPACE,
    LOG_RETENTION_DAYS,
    PROVIDER_KEY_ENV,
    TASK_CPU_UNITS,
    TASK_EPHEMERAL_STORAGE_GIB,
    TASK_MEMORY_MIB,
    Settings,
)

# awslogs in non-blocking mode drops lines rather than stall the agent when CloudWatch is slow;
# the buffer absorbs bursts of tool output.
AWSLOGS_MAX_BUFFER = "25m"
AWSLOGS_STREAM_PREFIX = "agent"
WORKSPACE_VOLUME = "workspace"

# ECS Exec: the SSM agent in the task opens these channels (DESIGN §4, interactive mode).
ECS_EXEC_CHANNEL_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
TABLE_READ_WRITE_ACTIONS = [
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]


def task_family(settings: Settings) -> str:
    return f"{settings.prefix}-agent"


def container_definitions(
    settings: Settings, *, image: str, log_group: str, secret_arns: dict[str, str]
) -> str:
    """The container contract of DESIGN §4 as the JSON string ECS takes."""
    return json.dumps(
        [
            {
                "name": AGENT_CONTAINER_NAME,
                "image": image,
                "essential": True,
                "user": str(AGENT_USER_UID),
                # moto's RunTask (and ECS sizing reports) want a container-level hard limit.
                "memory": TASK_MEMORY_MIB,
                "privileged": False,
                # ECS Exec needs a writable root filesystem: its agent writes into the container.
                "readonlyRootFilesystem": False,
                "stopTimeout": AGENT_STOP_GRACE_SECONDS,
                "linuxParameters": {"initProcessEnabled": True},
                "workingDirectory": AGENT_WORKSPACE,
                "mountPoints": [
                    {
                        "sourceVolume": WORKSPACE_VOLUME,
                        "containerPath": AGENT_WORKSPACE,
                        "readOnly": False,
                    }
                ],
                "environment": [
                    {"name": "AGENT_MAX_RUNTIME_SECONDS", "value": str(AGENT_MAX_RUNTIME_SECONDS)},
                    {"name": "AGENT_STOP_GRACE_SECONDS", "value": str(AGENT_STOP_GRACE_SECONDS)},
                    {"name": "PI_OFFLINE", "value": "1"},
                ],
                # Provider keys only ever arrive as secrets, resolved by ECS at task start.
                "secrets": [
                    {"name": PROVIDER_KEY_ENV[provider], "valueFrom": arn}
                    for provider, arn in sorted(secret_arns.items())
                ],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group,
                        "awslogs-region": settings.region,
                        "awslogs-stream-prefix": AWSLOGS_STREAM_PREFIX,
                        "mode": "non-blocking",
                        "max-buffer-size": AWSLOGS_MAX_BUFFER,
                    },
                },
            }
        ]
    )


class AgentStack(CloudAgentStack):
    """Agent log group, task security group, execution and task roles, the task definition."""

    def __init__(
        self, scope: Construct, id: str, *, settings: Settings, foundation: FoundationStack
    ) -> None:
        super().__init__(scope, id, settings=settings)
        self.foundation = foundation
        key_arn = foundation.data.key.arn
        table_arn = foundation.data.table.arn
        secret_arns = {p: s.arn for p, s in foundation.data.secrets.items()}
        repository = foundation.compute.repository
        exec_log_group_arn = foundation.compute.exec_log_group.arn
        name = task_family(settings)

        self.log_group = CloudwatchLogGroup(
            self,
            "log_group",
            name=settings.log_group_name("agent"),
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=key_arn,
        )

        # No inbound at all; outbound only HTTPS (model APIs, git) and DNS to the VPC resolver.
        self.security_group = SecurityGroup(
            self,
            "tasks_sg",
            name=f"{name}-tasks",
            description="Agent tasks: no inbound; outbound HTTPS and DNS only",
            vpc_id=foundation.network.vpc.id,
            ingress=[],
            egress=[
                SecurityGroupEgress(
                    description="HTTPS to model providers and code hosts",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=["0.0.0.0/0"],
                ),
                SecurityGroupEgress(
                    description="DNS (UDP) to the VPC resolver",
                    protocol="udp",
                    from_port=53,
                    to_port=53,
                    cidr_blocks=[settings.vpc_cidr],
                ),
                SecurityGroupEgress(
                    description="DNS (TCP) to the VPC resolver",
                    protocol="tcp",
                    from_port=53,
                    to_port=53,
                    cidr_blocks=[settings.vpc_cidr],
                ),
            ],
        )

        secrets = list(secret_arns.values())
        self.execution_role = role_with_policy(
            self,
            "execution_role",
            name=f"{name}-execution",
            description="ECS starts the agent: pull its image, write its logs, read its keys",
            trust_policy=service_trust_json("ecs-tasks.amazonaws.com"),
            statements=[
                Statement(
                    sid="RegistryLogin",
                    # ecr:GetAuthorizationToken has no resource type; AWS accepts only "*".
                    actions=["ecr:GetAuthorizationToken"],
                    resources=["*"],
                ),
                Statement(
                    sid="PullAgentImage",
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    resources=[repository.arn],
                ),
                Statement(
                    sid="WriteAgentLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{self.log_group.arn}:log-stream:*"],
                ),
                Statement(
                    sid="ReadProviderKeys",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=secrets,
                ),
                Statement(
                    sid="DecryptWithProjectKey",
                    actions=["kms:Decrypt"],
                    resources=[key_arn],
                ),
            ],
        )

        self.task_role = role_with_policy(
            self,
            "task_role",
            name=f"{name}-task",
            description="What the agent itself may do: its keys, the run table, ECS Exec",
            trust_policy=service_trust_json("ecs-tasks.amazonaws.com"),
            statements=[
                Statement(
                    sid="ReadProviderKeys",
                    actions=["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                    resources=secrets,
                ),
                Statement(
                    sid="ReadWriteRunTable",
                    actions=TABLE_READ_WRITE_ACTIONS,
                    resources=[table_arn, f"{table_arn}/index/{TABLE_TIME_INDEX}"],
                ),
                Statement(
                    sid="UseProjectKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key_arn],
                ),
                Statement(
                    sid="EcsExecChannels",
                    # The ssmmessages channel actions have no resource type; AWS accepts only "*".
                    actions=ECS_EXEC_CHANNEL_ACTIONS,
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

        self.task_definition = EcsTaskDefinition(
            self,
            "task_definition",
            family=name,
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
                image=f"{repository.repository_url}:{settings.agent_image_tag}",
                log_group=self.log_group.name,
                secret_arns=secret_arns,
            ),
        )

        for output, value in {
            "task_definition_arn": self.task_definition.arn,
            "task_definition_family": self.task_definition.family,
            "task_role_arn": self.task_role.arn,
            "execution_role_arn": self.execution_role.arn,
            "container_name": AGENT_CONTAINER_NAME,
            "log_group_name": self.log_group.name,
            "security_group_id": self.security_group.id,
        }.items():
            TerraformOutput(self, output, value=value)
