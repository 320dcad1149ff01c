"""IAM action groups, each named once and reused by every role that needs it.

Like the CDK's `grant*` methods: a role asks for "pull the agent image" or "use the run table",
and the boundary (the ceiling of every role) is assembled from the same groups, so a role's
policy and its ceiling cannot drift apart action by action.
"""

from __future__ import annotations

# Registry login: account-wide, no resource type (stacks/shared/star_only_actions.py).
ECR_LOGIN = ("ecr:GetAuthorizationToken",)
ECR_PULL = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
ECR_PUSH = (
    *ECR_PULL,
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)

# ECS Exec: the SSM agent in the task opens these channels; no resource type.
ECS_EXEC_CHANNELS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
# ...the session log the SSM agent writes (the cluster's ECS Exec log group)...
ECS_EXEC_LOG_WRITE = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
# ...and how it checks, before a session starts, that the group exists and is encrypted
# (no resource type: stacks/shared/star_only_actions.py).
ECS_EXEC_LOG_CHECK = ("logs:DescribeLogGroups",)

# The run table as the control functions use it (no deletes: records expire by TTL).
RUN_TABLE = (
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)

# The artifact bucket's objects, as the control role reaches them and presigns URLs for them.
ARTIFACT_OBJECTS = ("s3:GetObject", "s3:PutObject")
# The artifact bucket as `terraform plan` refreshes it: the provider's aws_s3_bucket reads every
# sub-configuration of a bucket (HeadBucket is s3:ListBucket) and fails on any refusal; the
# bucket's own configuration resources read theirs. Bucket-level only: no object is read.
ARTIFACT_BUCKET_READ = (
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLogging",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListBucket",
)
# ...what `terraform apply` and `destroy` write: create and delete it, tag it, and set (or, by
# the same actions, remove) each configuration the api stack gives it...
ARTIFACT_BUCKET_WRITE = (
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
)
# ...and how `force_destroy` empties it first: list every version, delete them.
ARTIFACT_BUCKET_EMPTY = ("s3:ListBucketVersions",)
ARTIFACT_OBJECT_DELETE = ("s3:DeleteObject", "s3:DeleteObjectVersion")

# Writing a function's or a task's own log streams.
LOG_STREAM_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")
LOG_STREAM_READ = ("logs:DescribeLogStreams", "logs:GetLogEvents")

# The control API reads a run's blocked names from the DNS Firewall's query log group.
EGRESS_QUERY_LOG_READ = ("logs:FilterLogEvents",)
# ...and opens a run's extra domains in the run-domain list while it runs.
RUN_DOMAIN_LIST_WRITE = (
    "route53resolver:ListFirewallDomains",
    "route53resolver:UpdateFirewallDomains",
)

# Encrypting and decrypting with the project key.
KEY_DECRYPT = ("kms:Decrypt",)
KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")
KEY_USE_AND_ENCRYPT = (*KEY_USE, "kms:Encrypt")

# Access-level "Read"/"List" action name prefixes (the plan role may use nothing else, and
# CKV_CA_20 lets them read across the account). API Gateway authorizes by HTTP verb:
# `apigateway:GET` is its read.
READ_ACTION_PREFIXES = ("Describe", "Get", "List", "BatchGet", "GET")
# Reads whose names carry no read prefix; each writes nothing.
READ_ACTIONS_WITHOUT_READ_PREFIX = ("kms:Decrypt",)

# The network `terraform apply` creates and changes (EC2 names it by generated IDs).
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

# The EC2_WRITE actions that create a resource carrying tags (TagSpecifications): the deploy
# role may call them only with this environment's tags in the request, and `ec2:CreateTags`
# without a project tag on the resource only as part of one of them (`ec2:CreateAction`).
EC2_CREATE = [
    "ec2:AllocateAddress",
    "ec2:CreateFlowLogs",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateVpc",
    "ec2:CreateVpcEndpoint",
]

# The DNS Firewall and its query log: what `terraform plan` refreshes...
DNS_FIREWALL_READ = (
    "route53resolver:GetFirewallConfig",
    "route53resolver:GetFirewallDomainList",
    "route53resolver:GetFirewallRuleGroup",
    "route53resolver:GetFirewallRuleGroupAssociation",
    "route53resolver:GetResolverQueryLogConfig",
    "route53resolver:ListFirewallDomains",
    "route53resolver:ListFirewallRules",
    "route53resolver:ListTagsForResource",
)
# ...what `terraform apply` creates (each request carries the project's tags)...
DNS_FIREWALL_CREATE = (
    "route53resolver:AssociateFirewallRuleGroup",
    "route53resolver:CreateFirewallDomainList",
    "route53resolver:CreateFirewallRuleGroup",
    "route53resolver:TagResource",
)
# ...and changes or deletes on resources that already carry the project's tags.
DNS_FIREWALL_CHANGE = (
    "route53resolver:AssociateResolverQueryLogConfig",
    "route53resolver:CreateFirewallRule",
    "route53resolver:DeleteFirewallDomainList",
    "route53resolver:DeleteFirewallRule",
    "route53resolver:DeleteFirewallRuleGroup",
    "route53resolver:DeleteResolverQueryLogConfig",
    "route53resolver:DisassociateFirewallRuleGroup",
    "route53resolver:DisassociateResolverQueryLogConfig",
    "route53resolver:UntagResource",
    "route53resolver:UpdateFirewallDomains",
    "route53resolver:UpdateFirewallRule",
    "route53resolver:UpdateFirewallRuleGroupAssociation",
)
