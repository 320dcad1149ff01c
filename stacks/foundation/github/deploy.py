"""The deploy role: the writes `terraform apply` of the three stacks makes, scoped to the project.

Each statement is scoped as far as AWS allows: by the `cloudagent-<env>` name prefix wherever the
service names resources by name; where it names them by generated IDs (KMS keys, EC2, CloudFront
distributions, REST APIs), by tags, in the managed policy `<prefix>-github-deploy-tagged`
(`tagged.py`). Roles may only be created or given policies with the project's
permissions boundary attached, and `iam:PassRole` covers only the project's roles, only to the
services that run them. The role also carries plan's reads, as the managed policy
`<prefix>-github-read`: all together exceed the 10,240 characters IAM allows a role's inline
policies. It cannot carry the boundary itself (see `boundary.py`); its own denies keep it from
changing the delivery roles, the OIDC trust and the boundary.
"""

from __future__ import annotations

from stacks.foundation.github.boundary import BOUNDED_ROLE_WRITES
from stacks.foundation.github.invoke_permissions import invoke_permissions
from stacks.foundation.github.names import RUNTIME_ROLES, runtime_role_name
from stacks.foundation.github.protections import deploy_protections
from stacks.shared.actions import (
    ARTIFACT_BUCKET_EMPTY,
    ARTIFACT_BUCKET_WRITE,
    ARTIFACT_OBJECT_DELETE,
)
from stacks.shared.arns import Arns
from stacks.shared.iam import Statement, folded_statements

# Services that run the project's roles: the only ones `iam:PassRole` may hand a role to.
PASS_ROLE_SERVICES = (
    "ecs-tasks.amazonaws.com",
    "lambda.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
)

STAR_WRITE = [
    # Each has no resource type (stacks/shared/star_only_actions.py says why, one by one).
    "ecs:DeregisterTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies",
    "logs:PutResourcePolicy",
]


def _foundation_writes(arns: Arns) -> list[Statement]:
    """Table, secrets, log groups, cluster, task definitions and repository."""
    return [*_data_writes(arns), *_runtime_writes(arns)]


def _data_writes(arns: Arns) -> list[Statement]:
    """The run table, the secrets and the log groups: where runs and keys are kept."""
    return [
        Statement(sid="WithoutResourceType", actions=STAR_WRITE, resources=["*"]),
        Statement(
            sid="ProjectTable",
            actions=[
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:UpdateTable",
                "dynamodb:UpdateTimeToLive",
            ],
            resources=arns.table,
        ),
        Statement(
            sid="ProjectSecrets",
            actions=[
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:PutSecretValue",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
            ],
            resources=arns.secrets,
        ),
        Statement(
            sid="ProjectLogGroups",
            actions=[
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            resources=arns.log_groups_and_streams,
        ),
    ]


def _runtime_writes(arns: Arns) -> list[Statement]:
    """The cluster, its task definitions and the image repository agents run from."""
    return [
        Statement(
            sid="ProjectEcs",
            actions=[
                "ecs:CreateCluster",
                "ecs:DeleteCluster",
                "ecs:PutClusterCapacityProviders",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateCluster",
                "ecs:UpdateClusterSettings",
            ],
            resources=arns.cluster + arns.task_definitions,
        ),
        Statement(
            sid="ProjectRepository",
            actions=[
                "ecr:CreateRepository",
                "ecr:DeleteLifecyclePolicy",
                "ecr:DeleteRepository",
                "ecr:PutImageScanningConfiguration",
                "ecr:PutImageTagMutability",
                "ecr:PutLifecyclePolicy",
                "ecr:TagResource",
                "ecr:UntagResource",
            ],
            resources=arns.repositories,
        ),
    ]


def _role_writes(arns: Arns) -> list[Statement]:
    """The project's roles: bounded creation, upkeep, and handing them to their services."""
    bounded = {"StringEquals": {"iam:PermissionsBoundary": arns.boundary}}
    return [
        # Only the runtime roles' own names, each with the boundary: never a new role that an
        # outside principal could be trusted by.
        Statement(
            sid="CreateRuntimeRoles",
            actions=["iam:CreateRole"],
            resources=[arns.role(runtime_role_name(arns.settings, r)) for r in RUNTIME_ROLES],
            conditions=bounded,
        ),
        Statement(
            sid="ProjectRolesBounded",
            actions=[a for a in BOUNDED_ROLE_WRITES if a != "iam:CreateRole"],
            resources=[arns.roles],
            conditions=bounded,
        ),
        Statement(
            # No iam:DeleteRole (denied in protections.py): deleting a runtime role is an
            # administrator's, so none can be re-created trusting someone else.
            sid="ProjectRoles",
            actions=[
                "iam:DeleteRolePolicy",
                "iam:ListInstanceProfilesForRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            resources=[arns.roles],
        ),
        Statement(
            sid="PassProjectRoles",
            actions=["iam:PassRole"],
            resources=[arns.roles],
            conditions={"StringEquals": {"iam:PassedToService": list(PASS_ROLE_SERVICES)}},
        ),
        Statement(
            sid="WafLoggingServiceRole",
            actions=["iam:CreateServiceLinkedRole"],
            resources=[arns.waf_logging_role],
            conditions={"StringEquals": {"iam:AWSServiceName": "wafv2.amazonaws.com"}},
        ),
    ]


def _api_writes(arns: Arns) -> list[Statement]:
    """Functions, the REST API, the distribution, its web ACL and the event rules."""
    return [
        Statement(
            sid="ProjectFunctions",
            actions=[
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:PutFunctionConcurrency",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            resources=arns.functions,
        ),
        # Each triggered function may be given an invoke permission only for the one service
        # the stacks wire to it: never an account or a principal outside, which would outlive
        # the GitHub trust. AddPermission's only condition keys are `lambda:Principal` and
        # `lambda:FunctionUrlAuthType` (no source account or ARN), so the function is the scope.
        *invoke_permissions(arns),
        Statement(
            sid="ProjectWebAcl",
            actions=[
                "wafv2:AssociateWebACL",
                "wafv2:CreateWebACL",
                "wafv2:DeleteLoggingConfiguration",
                "wafv2:DeleteWebACL",
                "wafv2:PutLoggingConfiguration",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "wafv2:UpdateWebACL",
            ],
            resources=arns.web_acls,
        ),
        Statement(
            sid="ProjectEventRules",
            actions=[
                "events:DeleteRule",
                "events:PutRule",
                "events:RemoveTargets",
                "events:TagResource",
                "events:UntagResource",
            ],
            resources=arns.rules,
        ),
        Statement(
            # A rule may only target the project's functions, never another account's bus.
            sid="ProjectEventTargets",
            actions=["events:PutTargets"],
            resources=arns.rules,
            # events:TargetArn is multivalued (one per target): every target must match.
            conditions={"ForAllValues:ArnLike": {"events:TargetArn": arns.functions}},
        ),
    ]


def _artifact_writes(arns: Arns) -> list[Statement]:
    """The artifact bucket (api stack), by its exact name, and its objects only to empty it."""
    return [
        Statement(
            sid="ArtifactBucket",
            actions=[*ARTIFACT_BUCKET_WRITE, *ARTIFACT_BUCKET_EMPTY],
            resources=[arns.artifact_bucket],
        ),
        Statement(
            # `force_destroy` deletes what runs left before the bucket goes; nothing reads them.
            sid="EmptyArtifactBucket",
            actions=ARTIFACT_OBJECT_DELETE,
            resources=[f"{arns.artifact_bucket}/*"],
        ),
    ]


def _state_writes(arns: Arns) -> list[Statement]:
    """The S3 lock file (`use_lockfile`) is written and deleted next to the state."""
    _, objects = arns.state()
    if not objects:
        return []
    return [
        Statement(sid="WriteState", actions=["s3:DeleteObject", "s3:PutObject"], resources=objects)
    ]


def deploy_statements(arns: Arns) -> list[Statement]:
    """Every write of `terraform apply`, in the order a reviewer reads the stacks."""
    return folded_statements(
        [
            *_foundation_writes(arns),
            *_role_writes(arns),
            *_api_writes(arns),
            *_artifact_writes(arns),
            *_state_writes(arns),
            *deploy_protections(arns),
        ]
    )
