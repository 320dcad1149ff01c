"""The control plane: the functions Chalice built and the REST API in front of them.

Every function comes from Chalice's package (`toolchain/chalice_package.py`);
`stacks/api/functions.py` gives them their roles, 14-day log groups under the project prefix and
their triggers; this module adds API Gateway from Chalice's own API definition, with the
resource policy that admits only requests that came through CloudFront.
"""

from __future__ import annotations

import hashlib
import json

from cdktf import TerraformStack
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
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from stacks.api.functions import (
    ADMIN_FUNCTION,
    ControlFunctions,
    ControlFunctionsProps,
    FunctionRoles,
)
from stacks.api.origin_gate import origin_only_policy_json
from stacks.api.origin_verify import OriginVerifySecret
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings
from toolchain.chalice_package import API_HANDLER, ChalicePackage

API_STAGE = "api"


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
        origin_verify: OriginVerifySecret,
    ) -> None:
        super().__init__(scope, id)
        self._region = settings.region
        functions = ControlFunctions(
            self,
            "control_functions",
            props=ControlFunctionsProps(
                settings=settings,
                package=package,
                roles=roles,
                environment=environment,
                kms_key_arn=kms_key_arn,
                cluster_arn=cluster_arn,
            ),
        )
        self.functions: dict[str, LambdaFunction] = functions.functions
        self.log_groups = functions.log_groups
        self._rest_api(settings, package, origin_verify)
        self._stage(settings, kms_key_arn)

    def _rest_api(
        self, settings: Settings, package: ChalicePackage, origin_verify: OriginVerifySecret
    ) -> None:
        """Chalice's API definition, reachable only with the origin value CloudFront sends."""
        handler = self.functions[API_HANDLER]
        # On the REST API itself (not aws_api_gateway_rest_api_policy): the provider re-applies
        # it after each import of `body`, which would otherwise drop it. Its own ARN would be a
        # cycle, so the resource is this account's execute-api in the region; the policy is
        # attached to this API only (stacks/api/origin_gate.py).
        policy = origin_only_policy_json(
            TerraformStack.of(self).arns.arn("execute-api", "*"),
            origin_verify.version.secret_string,
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
        self._deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api.id,
            # A changed resource policy takes effect only with a new deployment.
            # The policy's shape, and the origin value by its version id (the value itself is
            # sensitive, which a trigger cannot carry): a new secret version redeploys.
            triggers={
                "definition": package.swagger_hash,
                "policy": hashlib.sha256(origin_only_policy_json("", "").encode()).hexdigest(),
                "origin_value_version": origin_verify.version.version_id,
            },
            lifecycle={"create_before_destroy": True},
        )

    def _stage(self, settings: Settings, kms_key_arn: str) -> None:
        """The one stage: access-logged, throttled, and the only caller of the API handler."""
        handler = self.functions[API_HANDLER]
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
            deployment_id=self._deployment.id,
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
    def admin_function(self) -> LambdaFunction:
        return self.functions[ADMIN_FUNCTION]

    @property
    def api_domain(self) -> str:
        return f"{self.rest_api.id}.execute-api.{self._region}.amazonaws.com"
