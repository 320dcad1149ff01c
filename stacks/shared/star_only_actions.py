"""Actions AWS accepts only with `Resource: "*"` — the single allow-list for `*` resources.

Both the policy builder (`stacks/shared/iam.py`, at synth) and the project's Checkov check read this
list, so a `*` resource can only appear next to an action named here, and each entry says why
AWS offers nothing narrower (per the Service Authorization Reference: the action has no
resource type).
"""

STAR_ONLY_ACTIONS: dict[str, str] = {
    # ECS Exec: the SSM agent inside the task opens its control and data channels; these
    # actions have no resource type, so AWS accepts only "*".
    "ssmmessages:CreateControlChannel": "ECS Exec channel; no resource type",
    "ssmmessages:CreateDataChannel": "ECS Exec channel; no resource type",
    "ssmmessages:OpenControlChannel": "ECS Exec channel; no resource type",
    "ssmmessages:OpenDataChannel": "ECS Exec channel; no resource type",
    # ECR: registry login token is account-wide; no resource type.
    "ecr:GetAuthorizationToken": "registry login token; no resource type",
    # ECS: describing a task definition (terraform plan's refresh) has no resource type.
    "ecs:DescribeTaskDefinition": "no resource type",
    # Logs: listing log groups (terraform plan's refresh) has no resource type.
    "logs:DescribeLogGroups": "no resource type",
    # EC2 describe calls have no resource-level permissions.
    "ec2:DescribeAvailabilityZones": "no resource type",
    "ec2:DescribeVpcs": "no resource type",
    "ec2:DescribeSubnets": "no resource type",
    "ec2:DescribeSecurityGroups": "no resource type",
    "ec2:DescribeNetworkInterfaces": "no resource type",
    "ec2:DescribeAddresses": "no resource type",
    "ec2:DescribeAddressesAttribute": "no resource type",
    "ec2:DescribeFlowLogs": "no resource type",
    "ec2:DescribeInternetGateways": "no resource type",
    "ec2:DescribeNatGateways": "no resource type",
    "ec2:DescribeNetworkAcls": "no resource type",
    "ec2:DescribePrefixLists": "no resource type",
    "ec2:DescribeRouteTables": "no resource type",
    "ec2:DescribeSecurityGroupRules": "no resource type",
    "ec2:DescribeVpcEndpoints": "no resource type",
    # Deploy role (stacks/foundation/github/): creating these has no resource to name yet, or the
    # action is account-wide.
    "ecs:RegisterTaskDefinition": "no resource type; a new revision has no ARN yet",
    "ecs:DeregisterTaskDefinition": "no resource type",
    "kms:CreateKey": "no resource type; the key does not exist yet",
    "kms:ListAliases": "account-wide listing; no resource type",
    # WAF logging to CloudWatch Logs: the log delivery and the logs resource policy are
    # account-level (AWS's WAF logging permissions list them with '*').
    "logs:CreateLogDelivery": "log delivery; no resource type",
    "logs:DeleteLogDelivery": "log delivery; no resource type",
    "logs:PutResourcePolicy": "account-level logs resource policy; no resource type",
    "logs:DescribeResourcePolicies": "account-level listing; no resource type",
    # The api stack's aws_secretsmanager_random_password data source; generates, stores nothing.
    "secretsmanager:GetRandomPassword": "no resource type",
    # The admin function's preflight reads the Fargate vCPU quotas; the Service Authorization
    # Reference lists a `quota` resource for Service Quotas but none for this action.
    "servicequotas:GetServiceQuota": "no resource type",
    # Route 53 Resolver query logging: creating a config, and reading a VPC's association,
    # have no resource type (the deploy role's create still requires the project's tags).
    "route53resolver:CreateResolverQueryLogConfig": "no resource type; no ARN before creation",
    "route53resolver:GetResolverQueryLogConfigAssociation": "no resource type",
    # STS identity lookups made by every Terraform run.
    "sts:GetCallerIdentity": "no resource type",
}
