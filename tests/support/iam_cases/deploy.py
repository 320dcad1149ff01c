"""The deploy role (`-github-deploy`, its inline policy and three managed policies): what
`terraform apply` of `agent` and `api` needs, and what an attacker holding it must not reach
(issue 23's findings; issue 14's F2, F3 and F6)."""

from __future__ import annotations

from security.iam_eval.requests import Request
from tests.support.iam_cases import (
    ACCOUNT,
    BOUNDARY,
    CREATE_TAGS,
    OTHER_ACCOUNT,
    OTHER_TEAM,
    OURS,
    PREFIX,
    PROD,
    Case,
    allow,
    arn,
    role_arn,
)

ROLE = "github-deploy"
RULE_GROUP = arn("route53resolver", "firewall-rule-group/rslvr-frg-0123456789abcdef")
BOUNDED = {"iam:PermissionsBoundary": BOUNDARY}
FOREIGN_VPC = arn("ec2", "vpc/vpc-0f0e0d0c0b0a09080")
FOREIGN_SUBNET = arn("ec2", "subnet/subnet-0f0e0d0c0b0a09080")


def _function(name: str) -> str:
    return arn("lambda", f"function:{PREFIX}-{name}")


def _resolver() -> list[Case]:
    tag = "route53resolver:TagResource"
    return [
        Case(
            "resolver-retag-another-team",
            ROLE,
            Request(tag, RULE_GROUP, CREATE_TAGS, OTHER_TEAM),
            False,
            by="DenyRetaggingProject",
        ),
        Case(
            "resolver-retag-prod",
            ROLE,
            Request(tag, RULE_GROUP, CREATE_TAGS, PROD),
            False,
            by="DenyRetaggingEnvironment",
        ),
        Case(
            "resolver-tag-on-create",
            ROLE,
            Request(tag, RULE_GROUP, CREATE_TAGS),
            True,
            by="DnsFirewallCreate",
        ),
        Case(
            "resolver-delete-ours",
            ROLE,
            Request("route53resolver:DeleteFirewallRuleGroup", RULE_GROUP, resource_tags=OURS),
            True,
            by="DnsFirewallChange",
        ),
        Case(
            "resolver-delete-another-teams",
            ROLE,
            Request(
                "route53resolver:DeleteFirewallRuleGroup", RULE_GROUP, resource_tags=OTHER_TEAM
            ),
            False,
            plant=allow(["route53resolver:DeleteFirewallRuleGroup"], arn("route53resolver", "*")),
        ),
    ]


def _roles() -> list[Case]:
    task = role_arn("agent-task")
    return [
        Case(
            "delete-runtime-role",
            ROLE,
            Request("iam:DeleteRole", task),
            False,
            by="DenyTrustAndKeyPolicyChanges",
        ),
        Case(
            "create-a-new-bounded-role",
            ROLE,
            Request("iam:CreateRole", role_arn("backdoor"), context=BOUNDED),
            False,
            plant=allow(["iam:CreateRole"], role_arn("*"), {"StringEquals": BOUNDED}),
        ),
        Case(
            "create-runtime-role-bounded",
            ROLE,
            Request("iam:CreateRole", task, context=BOUNDED),
            True,
            by="CreateRuntimeRoles",
        ),
        Case(
            "create-runtime-role-unbounded",
            ROLE,
            Request("iam:CreateRole", task),
            False,
            by="DenyRolesWithoutBoundary",
        ),
        Case(
            "create-runtime-role-other-boundary",
            ROLE,
            Request(
                "iam:CreateRole",
                task,
                context={"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/open"},
            ),
            False,
            by="DenyRolesWithoutBoundary",
        ),
        Case(
            "retrust-runtime-role",
            ROLE,
            Request("iam:UpdateAssumeRolePolicy", role_arn("api")),
            False,
            by="DenyTrustAndKeyPolicyChanges",
        ),
        Case(
            "policy-on-github-admin",
            ROLE,
            Request("iam:PutRolePolicy", role_arn("github-admin"), context=BOUNDED),
            False,
            by="DenyDeliveryRoleChanges",
        ),
        Case(
            "policy-on-runtime-role",
            ROLE,
            Request("iam:PutRolePolicy", task, context=BOUNDED),
            True,
            by="ProjectRolesBounded",
        ),
        Case(
            "edit-the-boundary",
            ROLE,
            Request("iam:CreatePolicyVersion", BOUNDARY),
            False,
            by="DenyEditingBoundary",
        ),
        Case(
            "pass-role-to-ecs",
            ROLE,
            Request(
                "iam:PassRole", task, context={"iam:PassedToService": "ecs-tasks.amazonaws.com"}
            ),
            True,
            by="PassProjectRoles",
        ),
        Case(
            "pass-role-to-ec2",
            ROLE,
            Request("iam:PassRole", task, context={"iam:PassedToService": "ec2.amazonaws.com"}),
            False,
            plant=allow(["iam:PassRole"], role_arn("*")),
        ),
    ]


def _invoke_permissions() -> list[Case]:
    add = "lambda:AddPermission"
    return [
        Case(
            "admin-invocable-by-events",
            ROLE,
            Request(add, _function("admin"), context={"lambda:Principal": "events.amazonaws.com"}),
            False,
            by="DenyAdminInvokePermission",
        ),
        Case(
            "admin-invocable-by-another-account",
            ROLE,
            Request(add, _function("admin"), context={"lambda:Principal": OTHER_ACCOUNT}),
            False,
            by="DenyAdminInvokePermission",
        ),
        Case(
            "reaper-invoked-by-events",
            ROLE,
            Request(add, _function("reaper"), context={"lambda:Principal": "events.amazonaws.com"}),
            True,
            by="EventBridgeInvokes",
        ),
        Case(
            "api-invoked-by-api-gateway",
            ROLE,
            Request(
                add, _function("api"), context={"lambda:Principal": "apigateway.amazonaws.com"}
            ),
            True,
            by="ApiGatewayInvokes",
        ),
        Case(
            "api-invoked-by-events",
            ROLE,
            Request(add, _function("api"), context={"lambda:Principal": "events.amazonaws.com"}),
            False,
            plant=allow(
                [add],
                _function("*"),
                {"StringEquals": {"lambda:Principal": "events.amazonaws.com"}},
            ),
        ),
        Case(
            "rule-targets-another-accounts-function",
            ROLE,
            Request(
                "events:PutTargets",
                arn("events", f"rule/{PREFIX}-reaper"),
                context={"events:TargetArn": [arn("lambda", "function:x", account=OTHER_ACCOUNT)]},
            ),
            False,
            plant=allow(["events:PutTargets"], arn("events", f"rule/{PREFIX}-*")),
        ),
    ]


def _network() -> list[Case]:
    return [
        Case(
            "subnet-in-another-teams-vpc",
            ROLE,
            Request("ec2:CreateSubnet", FOREIGN_VPC, CREATE_TAGS, OTHER_TEAM),
            False,
            plant=allow(
                ["ec2:CreateSubnet"],
                arn("ec2", "*"),
                {
                    "StringEquals": {
                        "aws:RequestTag/Project": "cloudagent",
                        "aws:RequestTag/Environment": "dev",
                    }
                },
            ),
        ),
        Case(
            "endpoint-in-prods-subnet",
            ROLE,
            Request("ec2:CreateVpcEndpoint", FOREIGN_SUBNET, CREATE_TAGS, PROD),
            False,
            plant=allow(
                ["ec2:CreateVpcEndpoint"],
                arn("ec2", "*"),
                {
                    "StringEquals": {
                        "aws:RequestTag/Project": "cloudagent",
                        "aws:RequestTag/Environment": "dev",
                    }
                },
            ),
        ),
        Case(
            "new-subnet-tagged-ours",
            ROLE,
            Request("ec2:CreateSubnet", arn("ec2", "subnet/*"), CREATE_TAGS),
            True,
            by="CreateInVpc",
        ),
        Case(
            "new-subnet-into-our-vpc",
            ROLE,
            Request("ec2:CreateSubnet", FOREIGN_VPC, CREATE_TAGS, OURS),
            True,
            by="Network",
        ),
        Case(
            "new-endpoint-tagged-ours",
            ROLE,
            Request("ec2:CreateVpcEndpoint", arn("ec2", "vpc-endpoint/*"), CREATE_TAGS),
            True,
            by="CreateInSubnets",
        ),
        Case(
            "new-vpc-tagged-ours",
            ROLE,
            Request("ec2:CreateVpc", arn("ec2", "vpc/*"), CREATE_TAGS),
            True,
            by="CreateNetworkRoots",
        ),
        Case(
            "delete-another-teams-group",
            ROLE,
            Request(
                "ec2:DeleteSecurityGroup",
                arn("ec2", "security-group/sg-0f0e0d0c0b0a0908"),
                resource_tags=OTHER_TEAM,
            ),
            False,
            plant=allow(["ec2:DeleteSecurityGroup"], arn("ec2", "*")),
        ),
    ]


def _keys_and_prefixes() -> list[Case]:
    key = arn("kms", "key/0f0e0d0c-0b0a-4908-8706-050403020100")
    return [
        Case(
            "retag-prods-key",
            ROLE,
            Request("kms:TagResource", key, CREATE_TAGS, PROD),
            False,
            by="DenyRetaggingEnvironment",
            key_policy=True,
        ),
        Case(
            "delete-another-teams-key",
            ROLE,
            Request("kms:ScheduleKeyDeletion", key, resource_tags=OTHER_TEAM),
            False,
            plant=allow(["kms:ScheduleKeyDeletion"], arn("kms", "key/*")),
            key_policy=True,
        ),
        Case(
            "rewrite-our-key-policy",
            ROLE,
            Request("kms:PutKeyPolicy", key, resource_tags=OURS),
            False,
            by="DenyTrustAndKeyPolicyChanges",
            key_policy=True,
        ),
        Case(
            "delete-our-key",
            ROLE,
            Request("kms:ScheduleKeyDeletion", key, resource_tags=OURS),
            True,
            by="ProjectKeys",
            key_policy=True,
        ),
        # F6: `dev`'s name scopes never reach an environment whose name extends it.
        Case(
            "update-a-longer-environments-function",
            ROLE,
            Request("lambda:UpdateFunctionCode", arn("lambda", "function:cloudagent-devx-api")),
            False,
            plant=allow(["lambda:UpdateFunctionCode"], arn("lambda", "function:cloudagent-dev*")),
        ),
        Case(
            "update-our-function",
            ROLE,
            Request("lambda:UpdateFunctionCode", _function("api")),
            True,
            by="ProjectFunctions",
        ),
    ]


CASES = [*_resolver(), *_roles(), *_invoke_permissions(), *_network(), *_keys_and_prefixes()]
