"""The permissions boundary: the ceiling of every role the stacks create.

It is the union of what the plan, image and runtime roles need (built from the same action
groups as their own policies), plus explicit denies that keep any project role from editing the
boundary, creating a role without it, or removing it. Because the deploy role cannot change the
boundary, the first apply of `foundation` and any later change of the boundary are made by an
administrator, not by the deploy workflow.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from stacks.foundation.github.image import image_statements
from stacks.foundation.github.plan import plan_statements
from stacks.shared.actions import (
    ARTIFACT_OBJECTS,
    ECR_LOGIN,
    ECR_PULL,
    ECS_EXEC_CHANNELS,
    EGRESS_QUERY_LOG_READ,
    KEY_USE_AND_ENCRYPT,
    LOG_STREAM_READ,
    LOG_STREAM_WRITE,
    RUN_DOMAIN_LIST_WRITE,
    RUN_TABLE,
)
from stacks.shared.arns import Arns
from stacks.shared.iam import Statement

# Role writes that are only allowed with the project boundary attached.
BOUNDED_ROLE_WRITES = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"]


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


def runtime_statements(arns: Arns) -> list[Statement]:
    """What the runtime roles (agent, control API, admin, flow logs, GitHub admin) may do.

    Built from the action groups their policies use, scoped to the project's names;
    `tests/stacks/foundation/github` fails when a role uses an action missing here.
    """
    return [
        Statement(
            sid="RuntimeWithoutResourceType",
            # GetServiceQuota: the admin function's preflight (star_only_actions.py).
            actions=[*ECR_LOGIN, *ECS_EXEC_CHANNELS, "servicequotas:GetServiceQuota"],
            resources=["*"],
        ),
        Statement(
            sid="RuntimeListClusterTasks",
            actions=["ecs:ListTasks"],
            resources=arns.container_instances,
        ),
        Statement(sid="RuntimeTable", actions=RUN_TABLE, resources=arns.table),
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
            actions=[*LOG_STREAM_WRITE, *LOG_STREAM_READ, *EGRESS_QUERY_LOG_READ],
            resources=arns.log_groups,
        ),
        Statement(
            sid="RuntimeRunDomains", actions=RUN_DOMAIN_LIST_WRITE, resources=arns.dns_firewall
        ),
        Statement(
            sid="RuntimeTasks",
            actions=["ecs:DescribeTasks", "ecs:RunTask", "ecs:StopTask"],
            resources=arns.task_definitions + arns.tasks,
        ),
        Statement(sid="RuntimeImagePull", actions=ECR_PULL, resources=arns.repositories),
        Statement(sid="RuntimeKeys", actions=KEY_USE_AND_ENCRYPT, resources=arns.keys),
        # The control API hands the agent's roles to ECS when it runs a task.
        Statement(sid="RuntimePassRoles", actions=["iam:PassRole"], resources=[arns.roles]),
        Statement(sid="RuntimeInvoke", actions=["lambda:InvokeFunction"], resources=arns.functions),
        # The control API's artifact objects, which it presigns URLs for (stacks/api/roles.py).
        Statement(
            sid="RuntimeArtifacts", actions=ARTIFACT_OBJECTS, resources=[arns.artifact_buckets]
        ),
    ]


def _merged(arns: Arns, statements: Iterable[Statement]) -> list[Statement]:
    """Fold statements into two: the `*`-only actions, and every other action on the union of
    the project's resource scopes (conditions dropped).

    A boundary is a ceiling: the roles' own policies keep their conditions and exact scopes;
    the boundary only has to contain them, and must stay under IAM's 6,144-character limit
    for managed policies. One statement instead of one per service saves about 800 characters
    and widens nothing that can match: a request is authorized against ARNs of its own
    service's resource types, and every scope here names one service's project resources.
    A scope that names the project holds in every region (`_in_every_region`).
    """
    star: set[str] = set()
    actions: set[str] = set()
    resources: list[str] = []
    for statement in statements:
        if list(statement.resources) == ["*"]:
            star.update(statement.actions)
            continue
        actions.update(statement.actions)
        scopes = (_in_every_region(arns, r) for r in statement.resources)
        resources.extend(r for r in scopes if r not in resources)
    return [
        Statement(sid="WithoutResourceType", actions=sorted(star), resources=["*"]),
        Statement(sid="ProjectResources", actions=sorted(actions), resources=_uncovered(resources)),
    ]


def _in_every_region(arns: Arns, resource: str) -> str:
    """`resource` with `*` for its region when it names the project (by its prefix).

    IAM names are per account, not per region, so an account holds one deployment of an
    environment: `cloudagent-dev-*` in another region can only be this environment's too. A
    ceiling loses nothing by it, and gains the region's characters once per scope — what lets
    it hold the artifact bucket's refresh reads under 6,144 with the longest names. Scopes by
    resource type alone (`key/*`, `vpc/*`) keep their region.
    """
    parts = resource.split(":", 5)
    names_project = len(parts) == 6 and (
        arns.prefix in parts[5] or arns.settings.log_group_prefix in parts[5]
    )
    if names_project and parts[3] not in ("", "*"):
        parts[3] = "*"
    return ":".join(parts)


def _uncovered(resources: list[str]) -> list[str]:
    """Leave out a resource another one of the same statement already matches (a ceiling
    means the same with or without it; the characters count against the size limit)."""
    return [
        r
        for r in resources
        if not any(o != r and "*" in o and fnmatch.fnmatchcase(r, o) for o in resources)
    ]


def boundary_statements(arns: Arns, repository_arn: str) -> list[Statement]:
    """The ceiling of every bounded role: plan's reads, the image push, the runtime roles.

    The deploy role is the one role that cannot carry it: what applying three stacks needs
    is about 250 named actions, more than a managed policy (6,144 characters) can list without
    wildcards. So the deploy role is unbounded but administrator-managed: its own policy denies
    it any change to the delivery roles, the OIDC provider and this boundary, and it may only
    create or write policies into roles that carry this boundary.
    """
    allowed = _merged(
        arns,
        [*plan_statements(arns), *image_statements(repository_arn), *runtime_statements(arns)],
    )
    return [*allowed, *boundary_guards(arns)]
