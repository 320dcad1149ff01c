"""GitHub OIDC trust for delivery: the provider, the plan/deploy/image roles and the boundary.

The workflows in `.github/workflows/` never hold an access key: each job asks GitHub for an OIDC
token and assumes one of these roles. Every role trusts exactly one subject,
`repo:ORG/REPO:environment:ENV`, with `StringEquals` on `aud` and `sub`, for at most an hour.

- **plan** reads what `terraform plan` of the three stacks refreshes, and the state objects.
  No write-level action at all: the plan workflow runs `terraform plan -lock=false` because the
  S3 lock file is a write.
- **deploy** adds what `terraform apply` needs, scoped by the `cloudagent-<env>` name prefix
  wherever the service names resources by name. EC2 and CloudFront name resources by generated
  ID, API Gateway by API ID, KMS keys by key ID: those are scoped to this account and region.
  Roles may only be created or given policies with the project's permissions boundary attached,
  and `iam:PassRole` covers only the project's roles, only to the services that run them.
- **image** pushes to the one ECR repository. `ecr:GetAuthorizationToken` has no resource type,
  so AWS accepts it only with `Resource: "*"` (see stacks/star_only_actions.py).

The permissions boundary `cloudagent-<env>-boundary` is the ceiling of every role the stacks
create, these three included: the union of what the deploy, image and runtime roles need, and
explicit denies that keep any project role from editing the boundary, creating a role without
it, or removing it. Because the deploy role cannot change the boundary, the first apply of
`foundation` (which creates these roles) and any later change of the boundary are made by an
administrator, not by the deploy workflow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_openid_connect_provider import (
    DataAwsIamOpenidConnectProvider,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from stacks.iam import (
    Statement,
    boundary_arn,
    boundary_name,
    github_oidc_trust_json,
    policy_json,
    role_with_policy,
    set_stack_boundary,
)
from stacks.settings import GITHUB_OIDC_HOST, GITHUB_OIDC_ISSUER, STS_AUDIENCE, Settings

__all__ = [
    "BOUNDARY_OUTPUT",
    "GITHUB_ROLES",
    "GITHUB_ROLE_SESSION_SECONDS",
    "OIDC_PROVIDER_OUTPUT",
    "READ_ACTIONS_WITHOUT_READ_PREFIX",
    "READ_ACTION_PREFIXES",
    "ROLE_OUTPUTS",
    "ROLE_VARIABLES",
    "Arns",
    "GithubOidc",
    "boundary_arn",
    "boundary_name",
    "boundary_statements",
    "deploy_statements",
    "github_role_name",
    "image_statements",
    "plan_statements",
]

PLAN, DEPLOY, IMAGE = "plan", "deploy", "image"
GITHUB_ROLES = (PLAN, DEPLOY, IMAGE)
GITHUB_ROLE_SESSION_SECONDS = 3600  # the shortest IAM allows; a deploy of all three fits
# Foundation outputs (the operator copies them into repository/environment variables).
ROLE_OUTPUTS = {role: f"github_{role}_role_arn" for role in GITHUB_ROLES}
# The GitHub Actions variable (`vars.`) each workflow reads a role ARN from.
ROLE_VARIABLES = {role: f"CLOUDAGENT_{role.upper()}_ROLE_ARN" for role in GITHUB_ROLES}
OIDC_PROVIDER_OUTPUT = "github_oidc_provider_arn"
BOUNDARY_OUTPUT = "permissions_boundary_arn"

# Access-level "Read"/"List" action name prefixes; the plan role may use nothing else.
# API Gateway authorizes by HTTP verb: `apigateway:GET` is its read.
READ_ACTION_PREFIXES = ("Describe", "Get", "List", "BatchGet", "GET")
# Reads whose names carry no read prefix; each writes nothing.
READ_ACTIONS_WITHOUT_READ_PREFIX = ("kms:Decrypt",)

# Services that run the project's roles: the only ones `iam:PassRole` may hand a role to.
PASS_ROLE_SERVICES = (
    "ecs-tasks.amazonaws.com",
    "lambda.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
)
# CloudFront-scope WAF and its logs live in us-east-1 whatever the stack region (DESIGN §1).
EDGE_REGION = "us-east-1"


def github_role_name(settings: Settings, role: str) -> str:
    return f"{settings.prefix}-github-{role}"


@dataclass(frozen=True)
class Arns:
    """The project's resource ARN patterns; plain strings or Terraform tokens both work.

    Tests render the same statements with a literal account id to check sizes and coverage.
    """

    settings: Settings
    account: str
    partition: str = "aws"

    @property
    def regions(self) -> list[str]:
        return sorted({self.settings.region, EDGE_REGION})

    def _regional(self, service: str, resource: str) -> list[str]:
        p, a = self.partition, self.account
        return [f"arn:{p}:{service}:{r}:{a}:{resource}" for r in self.regions]

    @property
    def prefix(self) -> str:
        return self.settings.prefix

    def role(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{name}"

    @property
    def roles(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{self.prefix}-*"

    @property
    def policies(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:policy/{self.prefix}-*"

    @property
    def boundary(self) -> str:
        return boundary_arn(self.settings, self.account, self.partition)

    @property
    def oidc_provider(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:oidc-provider/{GITHUB_OIDC_HOST}"

    @property
    def waf_logging_role(self) -> str:
        return (
            f"arn:{self.partition}:iam::{self.account}:role/aws-service-role/"
            "wafv2.amazonaws.com/AWSServiceRoleForWAFV2Logging"
        )

    @property
    def table(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        base = f"arn:{p}:dynamodb:{r}:{a}:table/{self.prefix}"
        return [base, f"{base}/index/*"]

    @property
    def secrets(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:secretsmanager:{r}:{a}:secret:{self.prefix}/*"]

    @property
    def origin_verify_secret(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:secretsmanager:{r}:{a}:secret:{self.prefix}/origin-verify-*"]

    @property
    def keys(self) -> list[str]:
        return self._regional("kms", "key/*")

    @property
    def aliases(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:kms:{r}:{a}:alias/{self.prefix}*"]

    @property
    def log_groups(self) -> list[str]:
        """The project's log groups, and WAF's (named `aws-waf-logs-*`, beside the web ACL)."""
        p, r, a = self.partition, self.settings.region, self.account
        return [
            f"arn:{p}:logs:{r}:{a}:log-group:{self.settings.log_group_prefix}/*",
            f"arn:{p}:logs:{EDGE_REGION}:{a}:log-group:aws-waf-logs-{self.prefix}*",
        ]

    @property
    def cluster(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:ecs:{r}:{a}:cluster/{self.prefix}"]

    @property
    def container_instances(self) -> list[str]:
        """What ecs:ListTasks authorizes against (the Service Authorization Reference)."""
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:ecs:{r}:{a}:container-instance/{self.prefix}/*"]

    @property
    def vpcs(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:ec2:{r}:{a}:vpc/*"]

    @property
    def task_definitions(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:ecs:{r}:{a}:task-definition/{self.prefix}-*"]

    @property
    def tasks(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:ecs:{r}:{a}:task/{self.prefix}/*"]

    @property
    def repositories(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:ecr:{r}:{a}:repository/{self.prefix}-*"]

    def repository(self, name: str) -> str:
        p, r, a = self.partition, self.settings.region, self.account
        return f"arn:{p}:ecr:{r}:{a}:repository/{name}"

    @property
    def functions(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:lambda:{r}:{a}:function:{self.prefix}-*"]

    @property
    def rules(self) -> list[str]:
        p, r, a = self.partition, self.settings.region, self.account
        return [f"arn:{p}:events:{r}:{a}:rule/{self.prefix}-*"]

    @property
    def rest_apis(self) -> list[str]:
        p, r = self.partition, self.settings.region
        return [
            f"arn:{p}:apigateway:{r}::/restapis",
            f"arn:{p}:apigateway:{r}::/restapis/*",
            f"arn:{p}:apigateway:{r}::/tags/*",
        ]

    @property
    def distributions(self) -> list[str]:
        return [f"arn:{self.partition}:cloudfront::{self.account}:distribution/*"]

    @property
    def web_acls(self) -> list[str]:
        p, a = self.partition, self.account
        return [
            f"arn:{p}:wafv2:{EDGE_REGION}:{a}:global/webacl/{self.prefix}/*",
            # AWS managed rule groups referenced by the web ACL (owned by AWS, not this account).
            f"arn:{p}:wafv2:{EDGE_REGION}:*:global/managedruleset/*/*",
        ]

    @property
    def ec2(self) -> list[str]:
        """EC2 names resources by generated ID, so the scope is this account and region."""
        return [f"arn:{self.partition}:ec2:{self.settings.region}:{self.account}:*"]

    def state(self) -> tuple[list[str], list[str]]:
        """(bucket, objects) of this environment's state; empty without a state bucket."""
        bucket = self.settings.state_bucket
        if not bucket:
            return [], []
        key_prefix = self.settings.state_key("x").rsplit("/", 1)[0]
        base = f"arn:{self.partition}:s3:::{bucket}"
        return [base], [f"{base}/{key_prefix}/*"]


# --- What `terraform plan` refreshes: Describe/Get/List only. --------------------------------

EC2_READ = [
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
]
STAR_READ = [
    *EC2_READ,
    "sts:GetCallerIdentity",
    "logs:DescribeLogGroups",
    "ecs:DescribeTaskDefinition",
    "kms:ListAliases",
    # The api stack's origin-verify value comes from a data source that calls this.
    "secretsmanager:GetRandomPassword",
]


def plan_statements(arns: Arns) -> list[Statement]:
    """Read-only: every refresh `terraform plan` makes of the three stacks, and their state."""
    bucket, objects = arns.state()
    statements = [
        Statement(sid="ReadWithoutResourceType", actions=STAR_READ, resources=["*"]),
        Statement(
            sid="ReadIam",
            actions=[
                "iam:GetOpenIDConnectProvider",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListPolicyVersions",
                "iam:ListRolePolicies",
            ],
            resources=[arns.roles, arns.policies, arns.oidc_provider],
        ),
        Statement(
            sid="ReadKms",
            actions=[
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
            ],
            resources=arns.keys,
        ),
        Statement(
            sid="ReadTable",
            actions=[
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:ListTagsOfResource",
            ],
            resources=arns.table,
        ),
        Statement(
            sid="ReadSecrets",
            actions=["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"],
            resources=arns.secrets,
        ),
        Statement(
            # aws_secretsmanager_secret_version refreshes by reading the value.
            sid="ReadOriginVerifyValue",
            actions=["secretsmanager:GetSecretValue"],
            resources=arns.origin_verify_secret,
        ),
        Statement(
            # ...which Secrets Manager decrypts with the project key on the caller's behalf:
            # only through Secrets Manager, and only for that one secret.
            sid="DecryptOriginVerifyValue",
            actions=["kms:Decrypt"],
            resources=arns.keys,
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{arns.settings.region}.amazonaws.com"
                },
                "StringLike": {"kms:EncryptionContext:SecretARN": arns.origin_verify_secret},
            },
        ),
        Statement(
            sid="ReadLogGroups",
            actions=["logs:ListTagsForResource"],
            resources=arns.log_groups,
        ),
        Statement(
            sid="ReadEcs",
            actions=["ecs:DescribeClusters", "ecs:ListTagsForResource"],
            resources=arns.cluster + arns.task_definitions,
        ),
        Statement(
            # The VPC's DNS attributes; EC2 names VPCs by ID, so any VPC of this account/region.
            sid="ReadVpcAttributes",
            actions=["ec2:DescribeVpcAttribute"],
            resources=arns.vpcs,
        ),
        Statement(
            sid="ReadEcr",
            actions=[
                "ecr:DescribeRepositories",
                "ecr:GetLifecyclePolicy",
                "ecr:GetRepositoryPolicy",
                "ecr:ListTagsForResource",
            ],
            resources=arns.repositories,
        ),
        Statement(
            sid="ReadLambda",
            actions=[
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionConcurrency",
                "lambda:GetPolicy",
                "lambda:ListTags",
                "lambda:ListVersionsByFunction",
            ],
            resources=arns.functions,
        ),
        Statement(sid="ReadApiGateway", actions=["apigateway:GET"], resources=arns.rest_apis),
        Statement(
            sid="ReadCloudFront",
            actions=[
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:ListTagsForResource",
            ],
            resources=arns.distributions,
        ),
        Statement(
            sid="ReadWaf",
            actions=[
                "wafv2:GetLoggingConfiguration",
                "wafv2:GetWebACL",
                "wafv2:ListTagsForResource",
            ],
            resources=arns.web_acls,
        ),
        Statement(
            sid="ReadEventRules",
            actions=[
                "events:DescribeRule",
                "events:ListTagsForResource",
                "events:ListTargetsByRule",
            ],
            resources=arns.rules,
        ),
    ]
    if bucket:
        statements += [
            Statement(sid="ListStateBucket", actions=["s3:ListBucket"], resources=bucket),
            Statement(sid="ReadState", actions=["s3:GetObject"], resources=objects),
        ]
    return statements


# --- What `terraform apply` changes, on top of what plan reads. -------------------------------

EC2_WRITE = [
    "ec2:AllocateAddress",
    "ec2:AssociateRouteTable",
    "ec2:AttachInternetGateway",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateFlowLogs",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateRoute",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateTags",
    "ec2:CreateVpc",
    "ec2:CreateVpcEndpoint",
    "ec2:DeleteFlowLogs",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteNatGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteTags",
    "ec2:DeleteVpc",
    "ec2:DeleteVpcEndpoints",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateAddress",
    "ec2:DisassociateRouteTable",
    "ec2:ModifySubnetAttribute",
    "ec2:ModifyVpcAttribute",
    "ec2:ModifyVpcEndpoint",
    "ec2:ReleaseAddress",
    "ec2:ReplaceRoute",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
]
STAR_WRITE = [
    # Each has no resource type (stacks/star_only_actions.py says why, one by one).
    "ecs:DeregisterTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "kms:CreateKey",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies",
    "logs:PutResourcePolicy",
]
# Role writes that are only allowed with the project boundary attached.
BOUNDED_ROLE_WRITES = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"]
DELIVERY_ROLE_WRITES = [
    *BOUNDED_ROLE_WRITES,
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]


def _folded(statements: Iterable[Statement]) -> list[Statement]:
    """Join statements that differ only in actions: same meaning, fewer characters.

    An inline role policy may hold 10,240 characters; the deploy role comes close.
    """
    folded: dict[tuple, Statement] = {}
    for s in statements:
        key = (s.effect, tuple(s.resources), json.dumps(s.conditions, sort_keys=True))
        if key in folded:
            first = folded[key]
            actions = sorted(set(first.actions) | set(s.actions))
            folded[key] = Statement(
                sid=first.sid,
                actions=actions,
                resources=first.resources,
                conditions=first.conditions,
                effect=first.effect,
            )
        else:
            folded[key] = s
    return list(folded.values())


def boundary_guards(arns: Arns) -> list[Statement]:
    """Denies that keep the boundary in force: it cannot be edited, skipped or removed."""
    all_roles = arns.role("*")
    return [
        Statement(
            sid="DenyEditingBoundary",
            effect="Deny",
            actions=[
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            resources=[arns.boundary],
        ),
        Statement(
            sid="DenyRolesWithoutBoundary",
            effect="Deny",
            actions=BOUNDED_ROLE_WRITES,
            resources=[all_roles],
            conditions={"StringNotEquals": {"iam:PermissionsBoundary": arns.boundary}},
        ),
        Statement(
            sid="DenyRemovingBoundary",
            effect="Deny",
            actions=["iam:DeleteRolePermissionsBoundary"],
            resources=[all_roles],
        ),
    ]


def deploy_statements(arns: Arns) -> list[Statement]:
    """The writes `terraform apply` makes, each scoped as far as AWS allows.

    The deploy role also carries plan's reads, as the managed policy `<prefix>-github-read`:
    both together exceed the 10,240 characters IAM allows a role's inline policies.
    """
    bucket, objects = arns.state()
    key_use = ["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    statements = [
        Statement(sid="WithoutResourceType", actions=STAR_WRITE, resources=["*"]),
        Statement(sid="Network", actions=EC2_WRITE, resources=arns.ec2),
        Statement(
            sid="ProjectKeys",
            actions=[
                *key_use,
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:EnableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:RetireGrant",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
            ],
            resources=arns.keys + arns.aliases,
        ),
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
            resources=arns.log_groups,
        ),
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
        Statement(
            sid="ProjectRolesBounded",
            actions=BOUNDED_ROLE_WRITES,
            resources=[arns.roles],
            conditions={"StringEquals": {"iam:PermissionsBoundary": arns.boundary}},
        ),
        Statement(
            sid="ProjectRoles",
            actions=[
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:ListInstanceProfilesForRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
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
        Statement(
            sid="ProjectFunctions",
            actions=[
                "lambda:AddPermission",
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
        Statement(
            sid="ProjectRestApi",
            actions=["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
            resources=arns.rest_apis,
        ),
        Statement(
            sid="ProjectDistribution",
            actions=[
                "cloudfront:CreateDistribution",
                "cloudfront:DeleteDistribution",
                "cloudfront:TagResource",
                "cloudfront:UntagResource",
                "cloudfront:UpdateDistribution",
            ],
            resources=arns.distributions,
        ),
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
                "events:PutTargets",
                "events:RemoveTargets",
                "events:TagResource",
                "events:UntagResource",
            ],
            resources=arns.rules,
        ),
    ]
    if bucket:
        # The S3 lock file (`use_lockfile`) is written and deleted next to the state.
        statements.append(
            Statement(
                sid="WriteState", actions=["s3:DeleteObject", "s3:PutObject"], resources=objects
            )
        )
    delivery_roles = [arns.role(github_role_name(arns.settings, r)) for r in GITHUB_ROLES]
    statements += [
        # The delivery roles, the trust they hang on and the boundary are an administrator's:
        # the deploy role cannot widen itself, its siblings or the ceiling of what it creates.
        Statement(
            sid="DenyDeliveryRoleChanges",
            effect="Deny",
            actions=DELIVERY_ROLE_WRITES,
            resources=delivery_roles,
        ),
        Statement(
            sid="DenyTrustChanges",
            effect="Deny",
            actions=[
                "iam:DeleteOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ],
            resources=[arns.oidc_provider],
        ),
        *boundary_guards(arns),
    ]
    return _folded(statements)


def image_statements(arns: Arns, repository_arn: str) -> list[Statement]:
    """Push (and read back layers of) the one agent repository."""
    return [
        Statement(
            sid="RegistryLogin",
            # ecr:GetAuthorizationToken has no resource type: AWS accepts only "*".
            actions=["ecr:GetAuthorizationToken"],
            resources=["*"],
        ),
        Statement(
            sid="PushAgentImage",
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            resources=[repository_arn],
        ),
    ]


# --- The boundary: the ceiling of every project role. ----------------------------------------


def runtime_statements(arns: Arns) -> list[Statement]:
    """What the runtime roles (agent, control API, admin, flow logs, GitHub admin) may do.

    Mirrors their policies in agent.py, api.py and network.py at the action level, scoped to
    the project's names; `tests/github` fails when a role uses an action missing here.
    """
    return [
        Statement(
            sid="RuntimeWithoutResourceType",
            actions=[
                "ecr:GetAuthorizationToken",
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            resources=["*"],
        ),
        Statement(
            sid="RuntimeListClusterTasks",
            actions=["ecs:ListTasks"],
            resources=arns.container_instances,
        ),
        Statement(
            sid="RuntimeTable",
            actions=[
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            resources=arns.table,
        ),
        Statement(
            sid="RuntimeSecrets",
            actions=[
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:ListSecretVersionIds",
                "secretsmanager:PutSecretValue",
            ],
            resources=arns.secrets,
        ),
        Statement(
            sid="RuntimeLogs",
            actions=[
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:GetLogEvents",
                "logs:PutLogEvents",
            ],
            resources=arns.log_groups,
        ),
        Statement(
            sid="RuntimeTasks",
            actions=["ecs:DescribeTasks", "ecs:RunTask", "ecs:StopTask"],
            resources=arns.task_definitions + arns.tasks,
        ),
        Statement(
            sid="RuntimeImagePull",
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            resources=arns.repositories,
        ),
        Statement(
            sid="RuntimeKeys",
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            resources=arns.keys,
        ),
        # The control API hands the agent's roles to ECS when it runs a task.
        Statement(sid="RuntimePassRoles", actions=["iam:PassRole"], resources=[arns.roles]),
        Statement(sid="RuntimeInvoke", actions=["lambda:InvokeFunction"], resources=arns.functions),
    ]


def _merged(statements: Iterable[Statement]) -> list[Statement]:
    """Fold statements into one per service (and one for `*`-only actions), conditions dropped.

    A boundary is a ceiling: the roles' own policies keep their conditions and exact scopes;
    the boundary only has to contain them, and must stay under IAM's 6,144-character limit
    for managed policies.
    """
    star: set[str] = set()
    by_service: dict[str, tuple[set[str], list[str]]] = {}
    for statement in statements:
        if list(statement.resources) == ["*"]:
            star.update(statement.actions)
            continue
        for action in statement.actions:
            service = action.split(":", 1)[0]
            actions, resources = by_service.setdefault(service, (set(), []))
            actions.add(action)
            resources.extend(r for r in statement.resources if r not in resources)
    merged = [Statement(sid="WithoutResourceType", actions=sorted(star), resources=["*"])]
    for service in sorted(by_service):
        actions, resources = by_service[service]
        sid = "Project" + "".join(part.capitalize() for part in service.split("-"))
        merged.append(Statement(sid=sid, actions=sorted(actions), resources=resources))
    return merged


def boundary_statements(arns: Arns, repository_arn: str) -> list[Statement]:
    """The ceiling of every bounded role: plan's reads, the image push, the runtime roles.

    The deploy role is the one role that cannot carry it: what applying three stacks needs
    is about 250 named actions, more than a managed policy (6,144 characters) can list without
    wildcards. So the deploy role is unbounded but administrator-managed: its own policy denies
    it any change to the delivery roles, the OIDC provider and this boundary, and it may only
    create or write policies into roles that carry this boundary.
    """
    allowed = _merged(
        [*plan_statements(arns), *image_statements(arns, repository_arn), *runtime_statements(arns)]
    )
    return [*allowed, *boundary_guards(arns)]


class GithubOidc(Construct):
    """GitHub's OIDC provider (created or looked up), the boundary, and the three roles.

    Instantiate it before any other construct that creates roles in `foundation`: it registers
    the boundary as the stack's, so every later `role_with_policy` carries it and depends on it.
    """

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        account = DataAwsCallerIdentity(self, "account")
        partition = DataAwsPartition(self, "partition")
        arns = Arns(settings=settings, account=account.account_id, partition=partition.partition)

        if settings.github_oidc_provider_exists:
            # IAM allows one provider per URL; an account that has it already is looked up.
            self.provider_arn: str = DataAwsIamOpenidConnectProvider(
                self, "provider", url=GITHUB_OIDC_ISSUER
            ).arn
        else:
            # No thumbprint: AWS verifies GitHub's JWKS endpoint through its trusted CAs.
            self.provider_arn = IamOpenidConnectProvider(
                self, "provider", url=GITHUB_OIDC_ISSUER, client_id_list=[STS_AUDIENCE]
            ).arn

        # By name (compute.py names it so), so this construct can come before the repository.
        repository_arn = arns.repository(f"{settings.prefix}-agent")
        self.boundary = IamPolicy(
            self,
            "boundary",
            name=boundary_name(settings),
            description="Ceiling of every cloudagent role; only an administrator changes it",
            policy=policy_json(boundary_statements(arns, repository_arn)),
        )
        set_stack_boundary(self, self.boundary.arn)

        # Plan's reads, shared with the deploy role as a managed policy (see deploy_statements).
        self.read_policy = IamPolicy(
            self,
            "read_policy",
            name=f"{settings.prefix}-github-read",
            description="What terraform plan of the three stacks reads",
            policy=policy_json(plan_statements(arns)),
        )
        trust = github_oidc_trust_json(self.provider_arn, settings.github_subject)
        purposes = {
            PLAN: (
                "Read-only: terraform plan of the three stacks from pull requests",
                plan_statements(arns),
            ),
            DEPLOY: ("terraform apply of the three stacks from main", deploy_statements(arns)),
            IMAGE: (
                "Push the agent image to its ECR repository",
                image_statements(arns, repository_arn),
            ),
        }
        self.roles: dict[str, IamRole] = {}
        for role, (description, statements) in purposes.items():
            self.roles[role] = role_with_policy(
                self,
                f"{role}_role",
                name=github_role_name(settings, role),
                description=description,
                trust_policy=trust,
                statements=statements,
                max_session_duration=GITHUB_ROLE_SESSION_SECONDS,
                # The deploy role's actions do not fit in any managed policy (see
                # boundary_statements); its own denies stand in for a boundary.
                permissions_boundary=None if role == DEPLOY else self.boundary.arn,
                bounded=role != DEPLOY,
            )
        IamRolePolicyAttachment(
            self,
            "deploy_reads",
            role=self.roles[DEPLOY].name,
            policy_arn=self.read_policy.arn,
        )

    def outputs(self, scope: Construct) -> None:
        """Role, provider and boundary ARNs as stack outputs (copied into GitHub variables)."""
        for role, output in ROLE_OUTPUTS.items():
            TerraformOutput(scope, output, value=self.roles[role].arn)
        TerraformOutput(scope, OIDC_PROVIDER_OUTPUT, value=self.provider_arn)
        TerraformOutput(scope, BOUNDARY_OUTPUT, value=self.boundary.arn)
