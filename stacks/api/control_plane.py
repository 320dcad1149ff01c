"""The control Lambdas built by Chalice, their roles, their triggers and the REST API.

Every function comes from Chalice's package (`toolchain/chalice_package.py`); this module gives
them least-privilege roles, 14-day log groups under the project prefix, the EventBridge rule for
this cluster's task state changes, the reaper's schedule and API Gateway from Chalice's own API
definition.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cdktf import AssetType, TerraformAsset, TerraformStack
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import (
    ApiGatewayStage,
    ApiGatewayStageAccessLogSettings,
)
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionLoggingConfig,
)
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from stacks.api.origin_gate import origin_only_policy_json
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings
from toolchain.chalice_package import API_HANDLER, ChalicePackage

API_STAGE = "api"
REAPER_SCHEDULE = "rate(5 minutes)"
# Which role each Chalice function runs as: the admin function is the only one that can write
# provider keys, and only the GitHub OIDC admin role can invoke it.
ADMIN_FUNCTION = "admin"
TASK_STATE_FUNCTION = "task_state"
REAPER_FUNCTION = "reaper"
# Reserved concurrency of the functions other than the API handler (whose own comes from the
# settings): enough for bursts of task-state events, one reaper at a time, a few admin calls.
RESERVED_CONCURRENCY = {TASK_STATE_FUNCTION: 10, REAPER_FUNCTION: 1, ADMIN_FUNCTION: 2}


@dataclass(frozen=True)
class FunctionRoles:
    api: IamRole
    admin: IamRole


def function_name(settings: Settings, chalice_name: str) -> str:
    suffix = "api" if chalice_name == API_HANDLER else chalice_name.replace("_", "-")
    return f"{settings.prefix}-{suffix}"


def function_log_group_name(settings: Settings, chalice_name: str) -> str:
    return settings.log_group_name(f"lambda/{function_name(settings, chalice_name)}")


class ControlPlane(Construct):
    """Lambdas from the Chalice zip, their log groups and triggers, and the REST API."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        package: ChalicePackage,
        roles: FunctionRoles,
        environment: dict[str, str],
        kms_key_arn: str,
        cluster_arn: str,
        origin_verify_value: str,
        origin_verify_version_id: str,
    ) -> None:
        super().__init__(scope, id)
        self._region = settings.region
        code = TerraformAsset(self, "code", path=str(package.zip_path), type=AssetType.FILE)

        self.functions: dict[str, LambdaFunction] = {}
        self.log_groups: dict[str, CloudwatchLogGroup] = {}
        for chalice_name, spec in sorted(package.functions.items()):
            log_group = project_log_group(
                self,
                f"{chalice_name}_logs",
                name=function_log_group_name(settings, chalice_name),
                kms_key_arn=kms_key_arn,
            )
            role = roles.admin if chalice_name == ADMIN_FUNCTION else roles.api
            self.log_groups[chalice_name] = log_group
            self.functions[chalice_name] = LambdaFunction(
                self,
                chalice_name,
                function_name=function_name(settings, chalice_name),
                description=f"Cloud Agent Studio control plane: {chalice_name}",
                runtime="python3.11",
                architectures=["x86_64"],
                handler=spec.handler,
                memory_size=spec.memory_size,
                timeout=spec.timeout,
                filename=code.path,
                source_code_hash=code.asset_hash,
                role=role.arn,
                reserved_concurrent_executions=(
                    settings.api_reserved_concurrency
                    if chalice_name == API_HANDLER
                    else RESERVED_CONCURRENCY[chalice_name]
                ),
                kms_key_arn=kms_key_arn,
                environment=LambdaFunctionEnvironment(variables=environment),
                logging_config=LambdaFunctionLoggingConfig(
                    log_format="JSON", log_group=log_group.name
                ),
                depends_on=[log_group],
            )

        # ECS task state changes of this cluster only -> the run record.
        task_state_rule = CloudwatchEventRule(
            self,
            "task_state_rule",
            name=f"{settings.prefix}-task-state",
            description="ECS Task State Change events of the agent cluster",
            event_pattern=json.dumps(
                {
                    "source": ["aws.ecs"],
                    "detail-type": ["ECS Task State Change"],
                    "detail": {"clusterArn": [cluster_arn]},
                }
            ),
        )
        reaper_rule = CloudwatchEventRule(
            self,
            "reaper_rule",
            name=f"{settings.prefix}-reaper",
            description="Stops tasks past their hard cap plus grace (backstop)",
            schedule_expression=REAPER_SCHEDULE,
        )
        for rule, target in (
            (task_state_rule, TASK_STATE_FUNCTION),
            (reaper_rule, REAPER_FUNCTION),
        ):
            function = self.functions[target]
            CloudwatchEventTarget(self, f"{target}_target", rule=rule.name, arn=function.arn)
            LambdaPermission(
                self,
                f"{target}_invoke",
                statement_id="AllowEventBridge",
                action="lambda:InvokeFunction",
                function_name=function.function_name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
            )

        handler = self.functions[API_HANDLER]
        # On the REST API itself (not aws_api_gateway_rest_api_policy): the provider re-applies
        # it after each import of `body`, which would otherwise drop it. Its own ARN would be a
        # cycle, so the resource is this account's execute-api in the region; the policy is
        # attached to this API only (stacks/api/origin_gate.py).
        policy = origin_only_policy_json(
            TerraformStack.of(self).arns.arn("execute-api", "*"), origin_verify_value
        )
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest_api",
            name=settings.prefix,
            description="Cloud Agent Studio control API (reached through CloudFront)",
            body=package.api_definition(handler.invoke_arn),
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            policy=policy,
            lifecycle={"create_before_destroy": True},
        )
        deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api.id,
            # A changed resource policy takes effect only with a new deployment.
            # The policy's shape, and the origin value by its version id (the value itself is
            # sensitive, which a trigger cannot carry): a new secret version redeploys.
            triggers={
                "definition": package.swagger_hash,
                "policy": hashlib.sha256(origin_only_policy_json("", "").encode()).hexdigest(),
                "origin_value_version": origin_verify_version_id,
            },
            lifecycle={"create_before_destroy": True},
        )
        access_logs = project_log_group(
            self,
            "access_logs",
            name=settings.log_group_name("api-gateway-access"),
            kms_key_arn=kms_key_arn,
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api.id,
            deployment_id=deployment.id,
            stage_name=API_STAGE,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn,
                format=json.dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "method": "$context.httpMethod",
                        "path": "$context.path",
                        "status": "$context.status",
                        "latencyMs": "$context.responseLatency",
                    }
                ),
            ),
        )
        ApiGatewayMethodSettings(
            self,
            "method_settings",
            rest_api_id=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True, throttling_burst_limit=50, throttling_rate_limit=20
            ),
        )
        LambdaPermission(
            self,
            "api_invoke",
            statement_id="AllowApiGateway",
            action="lambda:InvokeFunction",
            function_name=handler.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.rest_api.execution_arn}/*/*",
        )

    @property
    def api_domain(self) -> str:
        return f"{self.rest_api.id}.execute-api.{self._region}.amazonaws.com"
