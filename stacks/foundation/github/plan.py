"""The plan role: what `terraform plan` of the three stacks refreshes, and nothing it writes.

It runs pull-request code, so it may use only access-level Read/List actions; the plan workflow
runs `terraform plan -lock=false` because the S3 lock file is a write. Where a service names
resources by generated IDs (KMS keys, CloudFront distributions, REST APIs, the DNS Firewall,
VPCs), the reads need this environment's tags on the resource, as the deploy role's writes
do: a pull request reads this project's key policies, distribution configurations and REST
API policies, not every team's in the account.
"""

from __future__ import annotations

from stacks.shared.actions import (
    ARTIFACT_BUCKET_READ,
    DNS_FIREWALL_READ,
    READ_ACTION_PREFIXES,
    READ_ACTIONS_WITHOUT_READ_PREFIX,
)
from stacks.shared.arns import Arns
from stacks.shared.iam import Statement
from stacks.shared.tags import on_project_resources

__all__ = ["READ_ACTIONS_WITHOUT_READ_PREFIX", "READ_ACTION_PREFIXES", "plan_statements"]


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
    # The VPC's query-log association (stacks/foundation/egress.py).
    "route53resolver:GetResolverQueryLogConfigAssociation",
]
# The DNS Firewall reads on a resource that carries no tags.
UNTAGGED_DNS_FIREWALL_READ = ("route53resolver:GetFirewallConfig",)


def plan_statements(arns: Arns) -> list[Statement]:
    """Read-only: every refresh `terraform plan` makes of the three stacks, and their state."""
    return [
        *_identity_reads(arns),
        *_tagged_reads(arns),
        *_origin_verify_reads(arns),
        *_runtime_reads(arns),
        *_control_plane_reads(arns),
        *_state_reads(arns),
    ]


def _identity_reads(arns: Arns) -> list[Statement]:
    """IAM roles and policies, the project key, the table and the secrets' metadata."""
    return [
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
    ]


def _tagged_reads(arns: Arns) -> list[Statement]:
    """What AWS names by generated IDs: this environment's only, by the resource's tags.

    One statement for all five services (each action authorizes only against its own type),
    so the shared read policy stays within IAM's 6,144 characters with the longest names.
    """
    return [
        Statement(
            sid="ReadTaggedProjectResources",
            actions=[
                # The key, its policy and rotation.
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                # The VPC's DNS attributes.
                "ec2:DescribeVpcAttribute",
                # The DNS Firewall's lists, rule group, association and query-log config.
                *(a for a in DNS_FIREWALL_READ if a not in UNTAGGED_DNS_FIREWALL_READ),
                # The REST API and its parts (which carry its tags); never the collection
                # (`/restapis`): no refresh lists REST APIs, creating one is the deploy role's.
                "apigateway:GET",
                # The distribution and its configuration (origin headers included).
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:ListTagsForResource",
            ],
            resources=[
                *arns.keys,
                *arns.vpcs,
                *arns.dns_firewall,
                *arns.rest_api_parts,
                *arns.distributions,
            ],
            conditions=on_project_resources(arns.settings.env_name),
        ),
    ]


def _origin_verify_reads(arns: Arns) -> list[Statement]:
    """The one secret value plan reads, and only through Secrets Manager."""
    return [
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
    ]


def _runtime_reads(arns: Arns) -> list[Statement]:
    """Log groups, the cluster and task definitions, the DNS Firewall's fail mode, ECR."""
    return [
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
            # A VPC's firewall config carries no tags (UNTAGGABLE_WRITES): it says only
            # whether that VPC's firewall fails open or closed.
            sid="ReadDnsFirewallConfig",
            actions=list(UNTAGGED_DNS_FIREWALL_READ),
            resources=arns.dns_firewall,
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
    ]


def _control_plane_reads(arns: Arns) -> list[Statement]:
    """The functions, API Gateway's tags, WAF, the EventBridge rules, the artifact bucket."""
    return [
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
        Statement(
            # The tags themselves (`/tags/<arn>`): a resource type without tag conditions.
            sid="ReadApiGatewayTags",
            actions=["apigateway:GET"],
            resources=arns.api_tags,
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
        Statement(
            # The bucket's configuration, by its name; none of its objects (the agents'
            # conversations), which stay the control role's alone.
            sid="ReadArtifactBucket",
            actions=ARTIFACT_BUCKET_READ,
            resources=[arns.artifact_bucket],
        ),
    ]


def _state_reads(arns: Arns) -> list[Statement]:
    """The state bucket and its objects, when the state is in S3 (none with local state)."""
    bucket, objects = arns.state()
    if not bucket:
        return []
    return [
        Statement(sid="ListStateBucket", actions=["s3:ListBucket"], resources=bucket),
        Statement(sid="ReadState", actions=["s3:GetObject"], resources=objects),
    ]
