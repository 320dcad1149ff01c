"""The agent's three roles: what ECS may do to start a task, and what the agent itself may do.

They are kept apart because the agent runs model-chosen commands with the task role's
credentials: everything that starting a task needs (the image, the logs, the provider key)
belongs to the execution role, which the agent's code never holds. The task role of every task
definition, the one a headless run gets, may do nothing at all. Only an interactive session
(`POST /v1/sessions`) runs as the exec role instead — RunTask's `overrides.taskRoleArn`, set by
the control API with `enableExecuteCommand` (chalicelib/cloud/ecs.py) — which holds what ECS
Exec needs and nothing else. The roles are created in the stack's scope so their Terraform
logical ids stay those the deployed state knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import Construct

from stacks.foundation import FoundationOutputs
from stacks.shared.actions import (
    ECR_LOGIN,
    ECR_PULL,
    ECS_EXEC_CHANNELS,
    ECS_EXEC_LOG_CHECK,
    ECS_EXEC_LOG_WRITE,
    KEY_DECRYPT,
    LOG_STREAM_WRITE,
)
from stacks.shared.arns import Arns
from stacks.shared.constants import EXEC_SESSION_CONTEXT_KEY
from stacks.shared.iam import (
    Statement,
    role_with_policy,
    role_without_policy,
    service_trust_json,
)


@dataclass(frozen=True)
class AgentRolesProps:
    """What the roles grant on: the image, the agent's log group, the keys and the exec log."""

    # The agent's name stem (stacks/agent/container.py task_family).
    name: str
    arns: Arns
    foundation: FoundationOutputs
    log_group_arn: str


class AgentRoles(Construct):
    """The execution role (ECS starts the agent), the task role (a headless run's agent runs
    as it) and the exec role (a session's agent runs as it)."""

    def __init__(self, scope: Construct, id: str, *, props: AgentRolesProps) -> None:
        super().__init__(scope, id)
        # ECS sends the task's ARN as aws:SourceArn: only this account's tasks may take the roles.
        ecs_tasks_trust = service_trust_json(
            "ecs-tasks.amazonaws.com", props.arns.source_conditions("ecs")
        )
        self.execution_role: IamRole = role_with_policy(
            scope,
            "execution_role",
            name=f"{props.name}-execution",
            # ECS, not the agent, uses this role: the agent's code never holds its credentials.
            description="ECS starts the agent: pull its image, write its logs, inject its key",
            trust_policy=ecs_tasks_trust,
            statements=_execution_statements(props),
        )
        self.task_role: IamRole = role_without_policy(
            scope,
            "task_role",
            name=f"{props.name}-task",
            # A headless run's agent runs model-chosen commands with these credentials: they
            # may do nothing. ECS injects the key with the execution role, the result travels
            # in the log stream, the artifacts go through presigned URLs.
            description="A headless run's agent: no permission at all",
            trust_policy=ecs_tasks_trust,
        )
        self.exec_role: IamRole = role_with_policy(
            scope,
            "exec_role",
            name=f"{props.name}-exec",
            # Only sessions run as this role (RunTask's overrides.taskRoleArn, with
            # enableExecuteCommand): the ECS Exec channels, the session log, the session key.
            description="An interactive session's agent: ECS Exec, and nothing else",
            trust_policy=ecs_tasks_trust,
            statements=_exec_statements(props.foundation),
        )


def _execution_statements(props: AgentRolesProps) -> list[Statement]:
    """Pull the image, write the agent's log, read and decrypt the keys it injects."""
    foundation = props.foundation
    secrets = list(dict(foundation.provider_secret_arns).values())
    if foundation.repo_token_secret_arn:
        secrets.append(foundation.repo_token_secret_arn)
    return [
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
            resources=[f"{props.log_group_arn}:log-stream:*"],
        ),
        Statement(
            sid="ReadProviderKeys",
            actions=["secretsmanager:GetSecretValue"],
            resources=secrets,
        ),
        Statement(
            sid="DecryptWithProjectKey",
            actions=KEY_DECRYPT,
            resources=[foundation.key_arn],
        ),
    ]


def _exec_statements(foundation: FoundationOutputs) -> list[Statement]:
    """ECS Exec: its encrypted session channels and their log, nothing more."""
    exec_log_group_arn = foundation.exec_log_group_arn
    return [
        Statement(
            # ECS Exec sessions are encrypted with the project key (cluster setting). The SSM
            # agent in the task decrypts the session's data key itself (no kms:ViaService), with
            # the session in the encryption context: no other ciphertext of the key carries it.
            sid="DecryptExecSessions",
            actions=KEY_DECRYPT,
            resources=[foundation.key_arn],
            conditions={"Null": {EXEC_SESSION_CONTEXT_KEY: "false"}},
        ),
        Statement(
            sid="EcsExecChannels",
            # The ssmmessages channel actions have no resource type; AWS accepts only "*".
            actions=ECS_EXEC_CHANNELS,
            resources=["*"],
        ),
        Statement(
            # Before a session starts, the SSM agent finds the log group and checks that it is
            # encrypted; without this the session is refused (cloud_watch_encryption_enabled).
            sid="EcsExecLogGroupCheck",
            actions=ECS_EXEC_LOG_CHECK,
            resources=["*"],
        ),
        Statement(
            sid="EcsExecSessionLogs",
            actions=ECS_EXEC_LOG_WRITE,
            resources=[exec_log_group_arn, f"{exec_log_group_arn}:log-stream:*"],
        ),
    ]
