"""The deploy role's writes on resources named by generated IDs, scoped by tags instead.

KMS keys, the network, the REST API and the distribution get IDs from AWS, so no ARN pattern
names them before they exist. Every resource the stacks create carries the provider's default
tags (`stacks/shared/tags.py`); these statements require this environment's `Project` and
`Environment` tags in the request to create one, and on the resource to change or delete it
(CKV_CA_20). With their conditions they do not fit beside the rest in the 10,240 characters of
a role's inline policies, so they are two managed policies, each under 6,144:
`<prefix>-github-deploy-network` (EC2) and `<prefix>-github-deploy-tagged` (the rest).

What tags cannot say:
- EC2 tags on create only through `ec2:CreateTags` with `ec2:CreateAction`, so it cannot tag an
  existing resource that is not the project's. The VPC's default security group is the one
  untagged resource the stacks adopt: it is named by its ID (a reference to the VPC), so only
  that group can be tagged and have its rules revoked.
- KMS, CloudFront, API Gateway and Route 53 Resolver authorize the tags sent with a create as
  `TagResource` (or `PUT /tags/...`) without the resource's own tags, so that tagging is allowed
  on request tags alone: a resource that carries no `Environment` or `Project` tag could be
  given this environment's and so adopted. Resources that carry another value of either are denied
  (`DenyRetagging*`), so `dev` can never take `prod`'s (docs/ARCHITECTURE.md §6.3).
"""

from __future__ import annotations

from stacks.shared.actions import EC2_CREATE, EC2_WRITE
from stacks.shared.arns import Arns
from stacks.shared.iam import Statement, folded_statements
from stacks.shared.tags import creating_project_resources, on_project_resources, scope_tags

# The create calls `ec2:CreateTags` may tag for (ec2:CreateAction names the API call).
EC2_CREATE_CALLS = [action.split(":", 1)[1] for action in EC2_CREATE]
# Each create with the types it makes, grouped so that no action in a group authorizes against
# a parent of a type the group names (CreateSubnet's VPC is never in its group's resources).
EC2_CREATES_BY_TYPE = {
    "CreateNetworkRoots": (
        ["AllocateAddress", "CreateInternetGateway", "CreateVpc"],
        ["elastic-ip", "internet-gateway", "vpc"],
    ),
    "CreateInVpc": (
        ["CreateRouteTable", "CreateSecurityGroup", "CreateSubnet"],
        ["route-table", "security-group", "subnet"],
    ),
    "CreateInSubnets": (
        ["CreateFlowLogs", "CreateNatGateway", "CreateVpcEndpoint"],
        ["natgateway", "vpc-endpoint", "vpc-flow-log"],
    ),
}
# Using the project's keys to encrypt what they protect (grants: DynamoDB, Logs).
KEY_USE = ["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
# Writes of the project's key aliases: they authorize against the alias and the key.
ALIAS_WRITES = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
# The tag writes a create is authorized with where no condition tells a new resource apart.
TAG_ON_CREATE = ["apigateway:PUT", "cloudfront:TagResource", "kms:TagResource"]


def _keys(arns: Arns, tagged: dict, creating: dict) -> list[Statement]:
    return [
        # kms:CreateKey has no resource type: the tags in the request are its only scope.
        Statement(
            sid="CreateProjectKeys", actions=["kms:CreateKey"], resources=["*"], conditions=creating
        ),
        Statement(
            sid="ProjectKeys",
            actions=[
                *KEY_USE,
                *ALIAS_WRITES,
                "kms:EnableKeyRotation",
                "kms:RetireGrant",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
            resources=arns.keys,
            conditions=tagged,
        ),
        # ...and the alias side of an alias write, by the alias's name.
        Statement(sid="ProjectKeyAliases", actions=ALIAS_WRITES, resources=arns.aliases),
    ]


def _network(arns: Arns, tagged: dict, creating: dict, default_group: str) -> list[Statement]:
    tag_on_create = {
        **creating,
        "StringEquals": {**creating["StringEquals"], "ec2:CreateAction": EC2_CREATE_CALLS},
    }
    return [
        # Every EC2 write on resources that carry the tags: a create also authorizes against
        # the VPC or subnet it goes into, which must be the project's too...
        Statement(sid="Network", actions=EC2_WRITE, resources=arns.ec2, conditions=tagged),
        # ...the new resource itself, tagged as this environment's in the same request. Request
        # tags are request-wide, so each create is allowed only on the type it creates: the
        # parent it goes into (VPC, subnet, route table, group) must match `Network` above.
        *(
            Statement(
                sid=sid,
                actions=[f"ec2:{call}" for call in calls],
                resources=[arns.arn("ec2", f"{kind}/*") for kind in created],
                conditions=creating,
            )
            for sid, (calls, created) in EC2_CREATES_BY_TYPE.items()
        ),
        # ...and tags on a resource without the project's only as part of one of those creates.
        Statement(
            sid="TagNewNetwork",
            actions=["ec2:CreateTags"],
            resources=arns.ec2,
            conditions=tag_on_create,
        ),
        # The VPC's default group is created by AWS, untagged: closed and tagged by its ID.
        Statement(
            sid="CloseDefaultSecurityGroup",
            actions=[
                "ec2:CreateTags",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            resources=[default_group],
        ),
    ]


def _edge(arns: Arns, tagged: dict, creating: dict) -> list[Statement]:
    return [
        Statement(
            sid="ProjectRestApi",
            # UpdateRestApiPolicy besides PATCH: the REST API's resource policy (origin_gate.py).
            actions=[
                "apigateway:DELETE",
                "apigateway:PATCH",
                "apigateway:POST",
                "apigateway:PUT",
                "apigateway:UpdateRestApiPolicy",
            ],
            resources=arns.rest_api_parts,
            conditions=tagged,
        ),
        Statement(
            sid="CreateProjectRestApi",
            actions=["apigateway:POST"],
            resources=arns.rest_api_collection,
            conditions=creating,
        ),
        Statement(
            sid="ProjectDistribution",
            actions=[
                "cloudfront:DeleteDistribution",
                "cloudfront:TagResource",
                "cloudfront:UntagResource",
                "cloudfront:UpdateDistribution",
            ],
            resources=arns.distributions,
            conditions=tagged,
        ),
        # cloudfront:CreateDistribution takes no tag condition (CREATE_ONLY_ACTIONS in
        # stacks/shared/tags.py): it only makes a new distribution; the provider sends its tags
        # with it (CreateDistributionWithTags), authorized as the TagResource below.
        Statement(
            sid="CreateProjectDistribution",
            actions=["cloudfront:CreateDistribution"],
            resources=arns.distributions,
        ),
    ]


def _tag_on_create(arns: Arns, creating: dict) -> list[Statement]:
    """Tags sent with a new key, distribution or REST API: only this environment's."""
    resources = [*arns.api_tags, *arns.distributions, *arns.keys]
    env = arns.settings.env_name
    # Route 53 Resolver authorizes the tags of a create the same way (its TagResource is in
    # DNS_FIREWALL_CREATE, dns_firewall.py), so its resources get the same denies.
    denies = [
        Statement(
            # Never re-tag what already carries another environment's or owner's value.
            sid=f"DenyRetagging{key}",
            effect="Deny",
            actions=[*TAG_ON_CREATE, "route53resolver:TagResource"],
            resources=[*resources, *arns.dns_firewall],
            conditions={
                "Null": {f"aws:ResourceTag/{key}": "false"},
                "StringNotEquals": {f"aws:ResourceTag/{key}": value},
            },
        )
        for key, value in scope_tags(env).items()
    ]
    return [
        Statement(
            sid="TagNewProjectResources",
            actions=TAG_ON_CREATE,
            resources=resources,
            conditions=creating,
        ),
        *denies,
    ]


def _conditions(arns: Arns) -> tuple[dict, dict]:
    env = arns.settings.env_name
    return on_project_resources(env), creating_project_resources(env)


def network_statements(arns: Arns, default_group_id: str) -> list[Statement]:
    """The EC2 writes (policy `<prefix>-github-deploy-network`); the VPC's default group ID."""
    default_group = arns.arn("ec2", f"security-group/{default_group_id}")
    return _network(arns, *_conditions(arns), default_group)


def tagged_statements(arns: Arns) -> list[Statement]:
    """Keys, REST API and distribution (policy `<prefix>-github-deploy-tagged`)."""
    tagged, creating = _conditions(arns)
    return folded_statements(
        [
            *_keys(arns, tagged, creating),
            *_edge(arns, tagged, creating),
            *_tag_on_create(arns, creating),
        ]
    )
