"""The `api` stack: the control plane (docs/ARCHITECTURE.md §1 and §5).

Reads top to bottom like the request path, inside out: the roles the control functions run
as, the functions Chalice built (with their triggers and the REST API), the edge every request
must come through (CloudFront + WAF), and the GitHub OIDC role that alone may invoke the admin
function. Values from `foundation` and `agent` arrive as their typed outputs (remote state in
Terraform).
"""

from __future__ import annotations

import json

from cdktf import TerraformOutput
from constructs import Construct

from stacks.agent import AgentOutputs
from stacks.api.control_plane import (
    ADMIN_FUNCTION,
    API_STAGE,
    ControlPlane,
    FunctionRoles,
    function_log_group_name,
)
from stacks.api.edge import Edge, OriginVerifySecret
from stacks.api.egress_access import egress_environment, egress_statements
from stacks.foundation import FoundationOutputs
from stacks.foundation.github.names import github_role_name
from stacks.shared.actions import KEY_USE, KEY_USE_AND_ENCRYPT, LOG_STREAM_WRITE, RUN_TABLE
from stacks.shared.constants import (
    AGENT_STOP_GRACE_SECONDS,
    GITHUB_OIDC_ISSUER,
    ORIGIN_VERIFY_ENV,
    TABLE_TIME_INDEX,
)
from stacks.shared.iam import (
    Statement,
    github_oidc_trust_json,
    role_with_policy,
    service_trust_json,
)
from stacks.shared.prices import CAPACITIES, task_hourly_cost_usd
from stacks.shared.settings import Settings
from stacks.shared.stack import CloudAgentStack
from toolchain import chalice_package

APP_VERSION = "0.1.0"


class ApiStack(CloudAgentStack):
    """Control Lambdas, API Gateway, CloudFront + WAF, and the admin invoke role."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        foundation: FoundationOutputs,
        agent: AgentOutputs,
    ) -> None:
        super().__init__(scope, id, settings=settings)
        arns = self.arns
        cluster_arn = foundation.cluster_arn
        key_arn = foundation.key_arn
        table_arn = foundation.table_arn
        secret_arns = dict(foundation.provider_secret_arns)
        # The secrets the admin function sets and the API checks: the keys, and the clone token.
        admin_secrets = sorted(secret_arns.values())
        if foundation.repo_token_secret_arn:
            admin_secrets.append(foundation.repo_token_secret_arn)
        package = chalice_package.build(settings.region)

        origin_verify = OriginVerifySecret(
            self, "origin_verify", settings=settings, kms_key_arn=key_arn
        )

        # --- Roles: what the control functions may do, statement by statement. ---
        # Confused deputy: Lambda may take these roles only for this account's functions
        # (aws:SourceAccount; why not aws:SourceArn: Arns.source_account_condition).
        lambda_trust = service_trust_json("lambda.amazonaws.com", arns.source_account_condition())

        def own_logs(names: list[str]) -> Statement:
            groups = [arns.log_group(function_log_group_name(settings, n)) for n in names]
            return Statement(
                sid="WriteOwnLogs",
                actions=LOG_STREAM_WRITE,
                resources=[f"{group}:log-stream:*" for group in groups],
            )

        control_functions = sorted(n for n in package.functions if n != ADMIN_FUNCTION)
        on_cluster = {"ArnEquals": {"ecs:cluster": cluster_arn}}
        list_cluster_tasks = Statement(
            sid="ListClusterTasks",
            # ListTasks authorizes against the cluster's container-instance ARN (the Service
            # Authorization Reference); the condition pins the cluster as well.
            actions=["ecs:ListTasks"],
            resources=[arns.container_instances_of(foundation.cluster_name)],
            conditions=on_cluster,
        )
        task_arns = arns.tasks_of(foundation.cluster_name)
        table_resources = [table_arn, f"{table_arn}/index/{TABLE_TIME_INDEX}"]
        api_role = role_with_policy(
            self,
            "api_role",
            name=f"{settings.prefix}-api",
            description="Control API, task-state handler and reaper: run and track agent tasks",
            trust_policy=lambda_trust,
            statements=[
                Statement(
                    sid="RunAgentTask",
                    actions=["ecs:RunTask"],
                    resources=[
                        arns.task_definition_family(family)
                        for _, family in sorted(agent.task_definition_families.items())
                    ],
                    conditions=on_cluster,
                ),
                Statement(
                    sid="TrackAgentTasks",
                    actions=["ecs:DescribeTasks", "ecs:StopTask"],
                    resources=[task_arns],
                    conditions=on_cluster,
                ),
                list_cluster_tasks,
                Statement(
                    sid="PassAgentRoles",
                    actions=["iam:PassRole"],
                    resources=[agent.task_role_arn, agent.execution_role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                ),
                Statement(
                    sid="RunTable",
                    actions=RUN_TABLE,
                    resources=table_resources,
                ),
                Statement(
                    sid="ReadAgentLogs",
                    actions=["logs:GetLogEvents"],
                    resources=[f"{agent.log_group_arn}:log-stream:*"],
                ),
                Statement(
                    # Whether a provider's key is set (409 before RunTask otherwise); metadata
                    # only, never the value.
                    sid="CheckProviderKeys",
                    actions=["secretsmanager:DescribeSecret"],
                    resources=admin_secrets,
                ),
                Statement(
                    sid="ReadOriginSecret",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[origin_verify.secret.arn],
                ),
                Statement(
                    sid="UseProjectKey",
                    actions=KEY_USE,
                    resources=[key_arn],
                ),
                own_logs(control_functions),
                *egress_statements(foundation),
            ],
        )
        admin_role = role_with_policy(
            self,
            "admin_role",
            name=f"{settings.prefix}-admin",
            description="Admin function: set provider keys, report which are set, stop all "
            "tasks, read the Fargate vCPU quotas",
            trust_policy=lambda_trust,
            statements=[
                Statement(
                    sid="SetProviderKeys",
                    actions=[
                        "secretsmanager:ListSecretVersionIds",
                        "secretsmanager:PutSecretValue",
                    ],
                    resources=admin_secrets,
                ),
                Statement(
                    # stop_all and preflight describe the cluster's tasks (who started them,
                    # on which capacity) before stopping or counting them.
                    sid="StopAgentTasks",
                    actions=["ecs:DescribeTasks", "ecs:StopTask"],
                    resources=[task_arns],
                    conditions=on_cluster,
                ),
                list_cluster_tasks,
                Statement(
                    # preflight: the Fargate vCPU quotas. GetServiceQuota has no resource type
                    # (stacks/shared/star_only_actions.py), so AWS accepts only "*".
                    sid="ReadFargateQuotas",
                    actions=["servicequotas:GetServiceQuota"],
                    resources=["*"],
                ),
                Statement(sid="RunTable", actions=RUN_TABLE, resources=table_resources),
                Statement(
                    sid="UseProjectKey",
                    actions=KEY_USE_AND_ENCRYPT,
                    resources=[key_arn],
                ),
                own_logs([ADMIN_FUNCTION]),
            ],
        )

        # --- The functions Chalice built, their triggers and the REST API. ---
        self.control_plane = ControlPlane(
            self,
            "control_plane",
            settings=settings,
            package=package,
            roles=FunctionRoles(api=api_role, admin=admin_role),
            environment={
                "TABLE_NAME": foundation.table_name,
                "CLUSTER_ARN": cluster_arn,
                # provider -> task definition (without revision): one per provider's key.
                "TASK_DEFINITION_ARNS": json.dumps(
                    dict(agent.task_definition_arns_without_revision), sort_keys=True
                ),
                "CONTAINER_NAME": agent.container_name,
                "SUBNET_IDS": ",".join(foundation.task_subnet_ids),
                "ASSIGN_PUBLIC_IP": foundation.task_assign_public_ip,
                "SECURITY_GROUP_IDS": agent.security_group_id,
                "LOG_GROUP_NAME": agent.log_group_name,
                "MAX_CONCURRENT_RUNS": str(settings.max_concurrent_runs),
                "ALLOWED_REPOS": ",".join(settings.run_repositories),
                # GitHub's issuer, always: the development issuer exists only in `make up`.
                "OIDC_ISSUER": GITHUB_OIDC_ISSUER,
                "OIDC_JWKS_URL": f"{GITHUB_OIDC_ISSUER}/.well-known/jwks",
                "OIDC_AUDIENCE": settings.api_audience,
                "OIDC_ALLOWED_SUBJECTS": settings.github_subject,
                "OIDC_REPOSITORY_ID": settings.github_repository_id,
                "APP_STAGE": settings.env_name,
                "APP_VERSION": APP_VERSION,
                "CAPACITY": settings.capacity,
                # capacity -> an agent task-hour at the configured architecture; a run stores
                # the price of the capacity it actually ran on.
                "TASK_HOURLY_COST_USD": json.dumps(
                    {c: task_hourly_cost_usd(settings.agent_architecture, c) for c in CAPACITIES},
                    sort_keys=True,
                ),
                "PROVIDER_SECRET_ARNS": json.dumps(secret_arns, sort_keys=True),
                # Set only with private_repos: runs are refused (409) while it has no value.
                **(
                    {"REPO_TOKEN_SECRET_ARN": foundation.repo_token_secret_arn}
                    if foundation.repo_token_secret_arn
                    else {}
                ),
                ORIGIN_VERIFY_ENV: origin_verify.secret.arn,
                "AGENT_STOP_GRACE_SECONDS": str(AGENT_STOP_GRACE_SECONDS),
                **egress_environment(settings, foundation),
            },
            kms_key_arn=key_arn,
            cluster_arn=cluster_arn,
            origin_verify_value=origin_verify.version.secret_string,
            origin_verify_version_id=origin_verify.version.version_id,
        )

        # --- The edge: CloudFront + WAF, the only way to the API. ---
        self.edge = Edge(
            self,
            "edge",
            settings=settings,
            api_domain=self.control_plane.api_domain,
            api_stage=API_STAGE,
            origin_verify_value=origin_verify.version.secret_string,
            kms_key_arn=key_arn,
        )

        # --- GitHub OIDC: the one principal that may invoke the admin function. ---
        admin_function = self.control_plane.functions[ADMIN_FUNCTION]
        invoke_role = role_with_policy(
            self,
            "admin_invoke_role",
            name=github_role_name(settings, "admin"),
            description="GitHub Actions of this repo's environment may invoke the admin function",
            trust_policy=github_oidc_trust_json(arns.oidc_provider, settings.github_subject),
            max_session_duration=3600,
            statements=[
                Statement(
                    sid="InvokeAdminFunction",
                    actions=["lambda:InvokeFunction"],
                    resources=[admin_function.arn],
                )
            ],
        )

        for output, value in {
            "api_url": f"https://{self.edge.distribution.domain_name}",
            "execute_api_domain": self.control_plane.api_domain,
            "web_acl_arn": self.edge.web_acl.arn,
            "admin_function_name": admin_function.function_name,
            "admin_invoke_role_arn": invoke_role.arn,
            "api_audience": settings.api_audience,
            "table_name": foundation.table_name,
        }.items():
            TerraformOutput(self, output, value=value)
