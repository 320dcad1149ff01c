"""Actions AWS accepts only with `Resource: "*"` — the single allow-list for `*` resources.

Both the policy builder (`stacks/iam.py`, at synth) and the project's Checkov check read this
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
    # ECS: RunTask targets a task definition, but listing/describing task definitions and
    # the account-wide read calls used by `terraform plan` have no resource type.
    "ecs:DescribeTaskDefinition": "no resource type",
    "ecs:ListTaskDefinitions": "no resource type",
    # ECS ListTasks authorizes against a container-instance ARN, which Fargate tasks do not have;
    # the control Lambda's statement is scoped to the cluster by an `ecs:cluster` condition.
    "ecs:ListTasks": "container-instance resource only (none on Fargate); scoped by ecs:cluster",
    # Logs: listing log groups (used to find the run's stream prefix) has no resource type.
    "logs:DescribeLogGroups": "no resource type",
    # EC2 describe calls have no resource-level permissions.
    "ec2:DescribeAvailabilityZones": "no resource type",
    "ec2:DescribeVpcs": "no resource type",
    "ec2:DescribeSubnets": "no resource type",
    "ec2:DescribeSecurityGroups": "no resource type",
    "ec2:DescribeNetworkInterfaces": "no resource type",
    # STS identity lookups made by every Terraform run.
    "sts:GetCallerIdentity": "no resource type",
}
