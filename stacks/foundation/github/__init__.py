"""GitHub delivery: the OIDC trust, the plan, deploy and image roles, and the boundary."""

from stacks.foundation.github.boundary import boundary_statements
from stacks.foundation.github.delivery import GithubOidc
from stacks.foundation.github.deploy import deploy_statements
from stacks.foundation.github.image import image_statements
from stacks.foundation.github.names import (
    BOUNDARY_OUTPUT,
    DEPLOY,
    GITHUB_ROLE_SESSION_SECONDS,
    GITHUB_ROLES,
    IMAGE,
    OIDC_PROVIDER_OUTPUT,
    PLAN,
    ROLE_OUTPUTS,
    ROLE_VARIABLES,
    github_role_name,
)
from stacks.foundation.github.plan import (
    READ_ACTION_PREFIXES,
    READ_ACTIONS_WITHOUT_READ_PREFIX,
    plan_statements,
)

__all__ = [
    "BOUNDARY_OUTPUT",
    "DEPLOY",
    "GITHUB_ROLES",
    "GITHUB_ROLE_SESSION_SECONDS",
    "IMAGE",
    "OIDC_PROVIDER_OUTPUT",
    "PLAN",
    "READ_ACTIONS_WITHOUT_READ_PREFIX",
    "READ_ACTION_PREFIXES",
    "ROLE_OUTPUTS",
    "ROLE_VARIABLES",
    "GithubOidc",
    "boundary_statements",
    "deploy_statements",
    "github_role_name",
    "image_statements",
    "plan_statements",
]
