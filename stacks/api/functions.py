"""The control functions Chalice built: each with its role, its log group and its trigger.

Every function comes from Chalice's package (`toolchain/chalice_package.py`); which role it runs
as, how many may run at once and what invokes it (EventBridge for task state changes and the
reaper's schedule) are decided here, next to the function, so one reads a function's whole
contract in one place. The resources are created in the control plane's scope, not this
construct's, so their Terraform logical ids stay those the deployed state knows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf import AssetType, TerraformAsset
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

from stacks.shared.function_names import (
    ADMIN_FUNCTION,
    REAPER_FUNCTION,
    TASK_STATE_FUNCTION,
    function_name,
)
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings
from toolchain.chalice_package import API_HANDLER, ChalicePackage, LambdaSpec

REAPER_SCHEDULE = "rate(5 minutes)"
# Which role each Chalice function runs as: the admin function is the only one that can write
# provider keys, and only the GitHub OIDC admin role can invoke it (names: function_names.py).
# Reserved concurrency of the functions other than the API handler (whose own comes from the
# settings): enough for bursts of task-state events, one reaper at a time, a few admin calls.
RESERVED_CONCURRENCY = {TASK_STATE_FUNCTION: 10, REAPER_FUNCTION: 1, ADMIN_FUNCTION: 2}


@dataclass(frozen=True)
class FunctionRoles:
    """Two roles, not one per function: the admin function alone may write provider keys."""

    api: IamRole
    admin: IamRole


def function_log_group_name(settings: Settings, chalice_name: str) -> str:
    return settings.log_group_name(f"lambda/{function_name(settings, chalice_name)}")


@dataclass(frozen=True)
class ControlFunctionsProps:
    """What the functions need from outside the control plane: their roles, variables, key."""

    settings: Settings
    package: ChalicePackage
    roles: FunctionRoles
    environment: dict[str, str]
    kms_key_arn: str
    cluster_arn: str


class ControlFunctions(Construct):
    """Lambdas from the Chalice zip, their 14-day log groups, and their EventBridge triggers."""

    def __init__(self, scope: Construct, id: str, *, props: ControlFunctionsProps) -> None:
        super().__init__(scope, id)
        self._scope = scope
        self._props = props
        code = TerraformAsset(scope, "code", path=str(props.package.zip_path), type=AssetType.FILE)
        self.functions: dict[str, LambdaFunction] = {}
        self.log_groups: dict[str, CloudwatchLogGroup] = {}
        for chalice_name, spec in sorted(props.package.functions.items()):
            self._function(chalice_name, spec, code)
        self._triggers()

    def _function(self, chalice_name: str, spec: LambdaSpec, code: TerraformAsset) -> None:
        props = self._props
        settings = props.settings
        log_group = project_log_group(
            self._scope,
            f"{chalice_name}_logs",
            name=function_log_group_name(settings, chalice_name),
            kms_key_arn=props.kms_key_arn,
        )
        role = props.roles.admin if chalice_name == ADMIN_FUNCTION else props.roles.api
        self.log_groups[chalice_name] = log_group
        self.functions[chalice_name] = LambdaFunction(
            self._scope,
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
            kms_key_arn=props.kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=props.environment),
            logging_config=LambdaFunctionLoggingConfig(log_format="JSON", log_group=log_group.name),
            depends_on=[log_group],
        )

    def _triggers(self) -> None:
        """This cluster's task state changes -> the run record; a schedule -> the reaper."""
        scope = self._scope
        settings = self._props.settings
        task_state_rule = CloudwatchEventRule(
            scope,
            "task_state_rule",
            name=f"{settings.prefix}-task-state",
            description="ECS Task State Change events of the agent cluster",
            event_pattern=json.dumps(
                {
                    "source": ["aws.ecs"],
                    "detail-type": ["ECS Task State Change"],
                    "detail": {"clusterArn": [self._props.cluster_arn]},
                }
            ),
        )
        reaper_rule = CloudwatchEventRule(
            scope,
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
            CloudwatchEventTarget(scope, f"{target}_target", rule=rule.name, arn=function.arn)
            LambdaPermission(
                scope,
                f"{target}_invoke",
                statement_id="AllowEventBridge",
                action="lambda:InvokeFunction",
                function_name=function.function_name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
            )
