"""Who the deploy role may let invoke a control function: one service per function, never the
admin function.

An invoke permission is a resource policy on the function, so one written for an account or an
unscoped service principal would outlive the GitHub trust. `lambda:AddPermission`'s only
condition keys are `lambda:Principal` and `lambda:FunctionUrlAuthType` (no source account or
ARN), so each service is allowed on exactly the functions the stacks wire it to
(`stacks/shared/function_names.py`), and the admin function, whose one caller is the
`-github-admin` role through IAM, is denied outright.
"""

from __future__ import annotations

from stacks.shared.arns import Arns
from stacks.shared.function_names import ADMIN_FUNCTION, INVOKED_BY, function_name
from stacks.shared.iam import Statement

INVOKE_PERMISSION_SIDS = {
    "apigateway.amazonaws.com": "ApiGatewayInvokes",
    "events.amazonaws.com": "EventBridgeInvokes",
}


def invoke_permissions(arns: Arns) -> list[Statement]:
    """`lambda:AddPermission` per service, on the functions that service invokes, and never on
    the admin function, whose only caller is the `-github-admin` role (through IAM)."""
    by_service: dict[str, list[str]] = {}
    for chalice_name, service in INVOKED_BY.items():
        function = arns.arn("lambda", f"function:{function_name(arns.settings, chalice_name)}")
        by_service.setdefault(service, []).append(function)
    admin = arns.arn("lambda", f"function:{function_name(arns.settings, ADMIN_FUNCTION)}")
    return [
        *(
            Statement(
                sid=INVOKE_PERMISSION_SIDS[service],
                actions=["lambda:AddPermission"],
                resources=functions,
                conditions={"StringEquals": {"lambda:Principal": service}},
            )
            for service, functions in sorted(by_service.items())
        ),
        Statement(
            sid="DenyAdminInvokePermission",
            effect="Deny",
            actions=["lambda:AddPermission"],
            resources=[admin],
        ),
    ]
