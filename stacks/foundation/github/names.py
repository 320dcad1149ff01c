"""The delivery roles' names and the outputs and GitHub variables that carry their ARNs."""

from __future__ import annotations

from stacks.shared.settings import Settings

PLAN, DEPLOY, IMAGE = "plan", "deploy", "image"
GITHUB_ROLES = (PLAN, DEPLOY, IMAGE)
GITHUB_ROLE_SESSION_SECONDS = 3600  # the shortest IAM allows; a deploy of all three fits
# Foundation outputs (the operator copies them into repository/environment variables).
ROLE_OUTPUTS = {role: f"github_{role}_role_arn" for role in GITHUB_ROLES}
# The GitHub Actions variable (`vars.`) each workflow reads a role ARN from.
ROLE_VARIABLES = {role: f"CLOUDAGENT_{role.upper()}_ROLE_ARN" for role in GITHUB_ROLES}
# The roles `agent` and `api` create, applied by the deploy role: the only names it may create
# a role under, and none it may delete (a deleted role re-created with another trust would
# outlive the GitHub trust). tests/stacks/foundation/github/test_delivery_roles.py holds this
# list to the roles the stacks synthesize.
RUNTIME_ROLES = ("agent-execution", "agent-exec", "agent-task", "api", "admin")
OIDC_PROVIDER_OUTPUT = "github_oidc_provider_arn"
BOUNDARY_OUTPUT = "permissions_boundary_arn"


def github_role_name(settings: Settings, role: str) -> str:
    return f"{settings.prefix}-github-{role}"


def runtime_role_name(settings: Settings, role: str) -> str:
    return f"{settings.prefix}-{role}"
