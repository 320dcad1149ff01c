"""Who may do what in the control plane: the roles its functions run as, and who may invoke admin.

The control API, the task-state handler and the reaper share one role (the only runtime role
with S3: it presigns the artifact bucket's URLs); the admin function, which alone writes
provider keys, has its own; a GitHub OIDC role alone may invoke it. Each grant sits next to the
role that holds it, so a reviewer reads the whole of the control plane's IAM here. The roles
are created in the stack's scope rather than this construct's: their Terraform logical ids
(derived from the construct path) stay those the deployed state knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import Construct

from stacks.agent import AgentOutputs
from stacks.api.artifacts import artifact_access_statements
from stacks.api.egress_access import egress_statements
from stacks.api.functions import ADMIN_FUNCTION, FunctionRoles, function_log_group_name
from stacks.foundation import FoundationOutputs
from stacks.foundation.github.names import github_role_name
from stacks.shared.actions import KEY_USE, KEY_USE_AND_ENCRYPT, LOG_STREAM_WRITE, RUN_TABLE
from stacks.shared.arns import Arns
from stacks.shared.constants import TABLE_TIME_INDEX
from stacks.shared.github_subjects import role_trust
from stacks.shared.iam import (
    Statement,
    github_oidc_trust_json,
    role_with_policy,
    service_trust_json,
)
from stacks.shared.settings import Settings


@dataclass(frozen=True)
class ControlRolesProps:
    """The resources the roles grant on, as the other workspaces' typed outputs name them."""

    settings: Settings
    arns: Arns
    foundation: FoundationOutputs
    agent: AgentOutputs
    # Every function Chalice built, by its Chalice name.
    function_names: Sequence[str]
    origin_verify_secret_arn: str
    # The artifact bucket (stacks/api/artifacts.py): this role presigns its URLs.
    artifact_bucket_arn: str


class ControlRoles(Construct):
    """The two roles the control functions run as, each with exactly the statements it needs."""

    def __init__(self, scope: Construct, id: str, *, props: ControlRolesProps) -> None:
        super().__init__(scope, id)
        self._props = props
        settings = props.settings
        # Confused deputy: Lambda may take these roles only for this account's functions
        # (aws:SourceAccount; why not aws:SourceArn: Arns.source_account_condition).
        lambda_trust = service_trust_json(
            "lambda.amazonaws.com", props.arns.source_account_condition()
        )
        self.api: IamRole = role_with_policy(
            scope,
            "api_role",
            name=f"{settings.prefix}-api",
            description="Control API, task-state handler and reaper: run and track agent tasks",
            trust_policy=lambda_trust,
            statements=[
                *self._run_task_statements(),
                *self._api_data_statements(),
                *artifact_access_statements(
                    bucket_arn=props.artifact_bucket_arn,
                    key_arn=props.foundation.key_arn,
                    region=settings.region,
                ),
            ],
        )
        self.admin: IamRole = role_with_policy(
            scope,
            "admin_role",
            name=f"{settings.prefix}-admin",
            description="Admin function: set provider keys, report which are set, stop all "
            "tasks, read the Fargate vCPU quotas",
            trust_policy=lambda_trust,
            statements=self._admin_statements(),
        )

    @property
    def function_roles(self) -> FunctionRoles:
        return FunctionRoles(api=self.api, admin=self.admin)

    @property
    def _admin_secrets(self) -> list[str]:
        """The secrets the admin function sets and the API checks: the keys, the clone token."""
        foundation = self._props.foundation
        secrets = sorted(dict(foundation.provider_secret_arns).values())
        if foundation.repo_token_secret_arn:
            secrets.append(foundation.repo_token_secret_arn)
        return secrets

    @property
    def _on_cluster(self) -> dict[str, dict[str, str]]:
        return {"ArnEquals": {"ecs:cluster": self._props.foundation.cluster_arn}}

    @property
    def _table_resources(self) -> list[str]:
        table_arn = self._props.foundation.table_arn
        return [table_arn, f"{table_arn}/index/{TABLE_TIME_INDEX}"]

    def _own_logs(self, names: Sequence[str]) -> Statement:
        settings = self._props.settings
        groups = [self._props.arns.log_group(function_log_group_name(settings, n)) for n in names]
        return Statement(
            sid="WriteOwnLogs",
            actions=LOG_STREAM_WRITE,
            resources=[f"{group}:log-stream:*" for group in groups],
        )

    def _list_cluster_tasks(self) -> Statement:
        return Statement(
            sid="ListClusterTasks",
            # ListTasks authorizes against the cluster's container-instance ARN (the Service
            # Authorization Reference); the condition pins the cluster as well.
            actions=["ecs:ListTasks"],
            resources=[
                self._props.arns.container_instances_of(self._props.foundation.cluster_name)
            ],
            conditions=self._on_cluster,
        )

    def _task_arns(self) -> str:
        return self._props.arns.tasks_of(self._props.foundation.cluster_name)

    def _run_task_statements(self) -> list[Statement]:
        """Start an agent task of this cluster, follow it, stop it."""
        agent = self._props.agent
        return [
            Statement(
                sid="RunAgentTask",
                actions=["ecs:RunTask"],
                # Both families of each provider: without and with repo-init.
                resources=[
                    self._props.arns.task_definition_family(family)
                    for family in sorted(
                        [
                            *agent.task_definition_families.values(),
                            *agent.repo_task_definition_families.values(),
                        ]
                    )
                ],
                conditions=self._on_cluster,
            ),
            Statement(
                sid="TrackAgentTasks",
                actions=["ecs:DescribeTasks", "ecs:StopTask"],
                resources=[self._task_arns()],
                conditions=self._on_cluster,
            ),
            self._list_cluster_tasks(),
            Statement(
                # Exactly the roles a RunTask names: the task definitions' task and execution
                # roles, and the exec role a session's overrides.taskRoleArn names; to ECS tasks.
                sid="PassAgentRoles",
                actions=["iam:PassRole"],
                resources=[agent.task_role_arn, agent.exec_role_arn, agent.execution_role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
        ]

    def _api_data_statements(self) -> list[Statement]:
        """The run records, the agent's log, key metadata, the origin value, own logs."""
        props = self._props
        control_functions = sorted(n for n in props.function_names if n != ADMIN_FUNCTION)
        return [
            Statement(sid="RunTable", actions=RUN_TABLE, resources=self._table_resources),
            Statement(
                sid="ReadAgentLogs",
                actions=["logs:GetLogEvents"],
                resources=[f"{props.agent.log_group_arn}:log-stream:*"],
            ),
            Statement(
                # Whether a provider's key is set (409 before RunTask otherwise); metadata
                # only, never the value.
                sid="CheckProviderKeys",
                actions=["secretsmanager:DescribeSecret"],
                resources=self._admin_secrets,
            ),
            Statement(
                sid="ReadOriginSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[props.origin_verify_secret_arn],
            ),
            Statement(sid="UseProjectKey", actions=KEY_USE, resources=[props.foundation.key_arn]),
            self._own_logs(control_functions),
            *egress_statements(props.foundation),
        ]

    def _admin_statements(self) -> list[Statement]:
        """Set provider keys, stop every task, read the Fargate quotas, own logs."""
        return [
            Statement(
                sid="SetProviderKeys",
                actions=[
                    "secretsmanager:ListSecretVersionIds",
                    "secretsmanager:PutSecretValue",
                ],
                resources=self._admin_secrets,
            ),
            Statement(
                # stop_all and preflight describe the cluster's tasks (who started them,
                # on which capacity) before stopping or counting them.
                sid="StopAgentTasks",
                actions=["ecs:DescribeTasks", "ecs:StopTask"],
                resources=[self._task_arns()],
                conditions=self._on_cluster,
            ),
            self._list_cluster_tasks(),
            Statement(
                # preflight: the Fargate vCPU quotas. GetServiceQuota has no resource type
                # (stacks/shared/star_only_actions.py), so AWS accepts only "*".
                sid="ReadFargateQuotas",
                actions=["servicequotas:GetServiceQuota"],
                resources=["*"],
            ),
            Statement(sid="RunTable", actions=RUN_TABLE, resources=self._table_resources),
            Statement(
                sid="UseProjectKey",
                actions=KEY_USE_AND_ENCRYPT,
                resources=[self._props.foundation.key_arn],
            ),
            self._own_logs([ADMIN_FUNCTION]),
        ]


@dataclass(frozen=True)
class AdminInvokeRoleProps:
    """The one function the role may invoke, and the GitHub subject that may take the role."""

    settings: Settings
    arns: Arns
    admin_function_arn: str


class AdminInvokeRole(Construct):
    """GitHub OIDC of this repo's environment: the one principal that may invoke admin.

    Provider keys are written only through the admin function, so who may invoke it is who
    may change them; the role is created in the stack's scope to keep its logical id.
    """

    def __init__(self, scope: Construct, id: str, *, props: AdminInvokeRoleProps) -> None:
        super().__init__(scope, id)
        settings = props.settings
        self.role: IamRole = role_with_policy(
            scope,
            "admin_invoke_role",
            name=github_role_name(settings, "admin"),
            description="GitHub Actions of this repo's environment may invoke the admin function",
            trust_policy=github_oidc_trust_json(
                props.arns.oidc_provider, role_trust(settings, "admin").subject
            ),
            max_session_duration=3600,
            statements=[
                Statement(
                    sid="InvokeAdminFunction",
                    actions=["lambda:InvokeFunction"],
                    resources=[props.admin_function_arn],
                )
            ],
        )
