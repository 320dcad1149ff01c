"""What the deploy role may never do, though it applies all three stacks.

The delivery roles, who may assume any project role, what a key allows and the boundary are an
administrator's: a change to any of them would widen the deploy role itself or outlive the loss
of the GitHub trust. These are explicit denies, so no allow elsewhere can reopen them.
"""

from __future__ import annotations

from stacks.foundation.github.boundary import BOUNDED_ROLE_WRITES, boundary_guards
from stacks.foundation.github.names import GITHUB_ROLES, github_role_name
from stacks.shared.arns import Arns
from stacks.shared.iam import Statement

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


def deploy_protections(arns: Arns) -> list[Statement]:
    """What stays an administrator's: the delivery roles, their trust and the boundary."""
    # The admin-invoke role (api stack) is GitHub-trusted too: an administrator's, like these.
    delivery_roles = [arns.role(github_role_name(arns.settings, r)) for r in GITHUB_ROLES]
    delivery_roles.append(arns.role(github_role_name(arns.settings, "admin")))
    return [
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
        Statement(
            # Who may assume a project role, and what a key allows, are an administrator's to
            # change: a rewritten trust or key policy would outlive the loss of the GitHub trust
            # (and a deleted role could be re-created with another trust).
            sid="DenyTrustAndKeyPolicyChanges",
            effect="Deny",
            actions=["iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "kms:PutKeyPolicy"],
            resources=[arns.roles, *arns.keys],
        ),
        *boundary_guards(arns),
    ]
