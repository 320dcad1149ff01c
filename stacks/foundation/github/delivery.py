"""GitHub OIDC trust for delivery: the provider, the boundary and the plan/deploy/image roles.

The workflows in `.github/workflows/` never hold an access key: each job asks GitHub for an
OIDC token and assumes one of these roles, which trust exactly one subject with `StringEquals`
on `aud` and `sub`, for at most an hour. What each role may do is in its own module:
`plan.py`, `deploy.py`, `image.py`; the ceiling of them all in `boundary.py`.
"""

from __future__ import annotations

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.data_aws_iam_openid_connect_provider import (
    DataAwsIamOpenidConnectProvider,
)
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from stacks.foundation.github.boundary import boundary_statements
from stacks.foundation.github.deploy import deploy_statements
from stacks.foundation.github.dns_firewall import dns_firewall_deploy_statements
from stacks.foundation.github.image import image_statements
from stacks.foundation.github.names import (
    BOUNDARY_OUTPUT,
    DEPLOY,
    GITHUB_ROLE_SESSION_SECONDS,
    IMAGE,
    OIDC_PROVIDER_OUTPUT,
    PLAN,
    ROLE_OUTPUTS,
    github_role_name,
)
from stacks.foundation.github.plan import plan_statements
from stacks.foundation.github.tagged import network_statements, tagged_statements
from stacks.shared.arns import Arns, boundary_name
from stacks.shared.constants import GITHUB_OIDC_ISSUER, STS_AUDIENCE
from stacks.shared.github_subjects import role_trust
from stacks.shared.iam import (
    Statement,
    github_oidc_trust_json,
    policy_json,
    role_with_policy,
    set_stack_boundary,
)
from stacks.shared.settings import Settings


class GithubOidc(Construct):
    """GitHub's OIDC provider (created or looked up), the boundary, and the three roles.

    Instantiate it before any other construct that creates roles in `foundation`: it registers
    the boundary as the stack's, so every later `role_with_policy` carries it and depends on it.
    """

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        self.settings = settings
        arns = self.arns = Arns.in_scope(self, settings)
        self.provider_arn = self._provider()
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
        self.roles: dict[str, IamRole] = self._roles(repository_arn)
        IamRolePolicyAttachment(
            self,
            "deploy_reads",
            role=self.roles[DEPLOY].name,
            policy_arn=self.read_policy.arn,
        )
        # The DNS Firewall writes, beside the inline policy (see dns_firewall.py).
        self._attach_to_deploy(
            ("dns_firewall_policy", "deploy_dns_firewall"),
            name=f"{settings.prefix}-github-dns-firewall",
            description="What terraform apply writes to the DNS Firewall and its query log",
            statements=dns_firewall_deploy_statements(arns),
        )

    def _provider(self) -> str:
        """GitHub's OIDC provider's ARN, whether this stack creates it or finds it."""
        if self.settings.github_oidc_provider_exists:
            # IAM allows one provider per URL; an account that has it already is looked up.
            return DataAwsIamOpenidConnectProvider(self, "provider", url=GITHUB_OIDC_ISSUER).arn
        # No thumbprint: AWS verifies GitHub's JWKS endpoint through its trusted CAs.
        return IamOpenidConnectProvider(
            self, "provider", url=GITHUB_OIDC_ISSUER, client_id_list=[STS_AUDIENCE]
        ).arn

    def _roles(self, repository_arn: str) -> dict[str, IamRole]:
        """Plan, deploy and image roles, each trusting only the GitHub subject it serves."""
        settings = self.settings
        arns = self.arns
        # Pull-request code runs in the plan job: its token (subject `...:pull_request...`)
        # fits the read-only plan role alone. Everything else trusts only the gated
        # environment and, with the `workflow` template, its own workflow on the default branch.
        trusts = {}
        for role in (PLAN, DEPLOY, IMAGE):
            trusted = role_trust(settings, role)
            trusts[role] = github_oidc_trust_json(
                self.provider_arn, trusted.subject, trusted.operator
            )
        purposes = {
            PLAN: (
                "Read-only: terraform plan of the three stacks from pull requests",
                plan_statements(arns),
            ),
            DEPLOY: ("terraform apply of the three stacks from main", deploy_statements(arns)),
            IMAGE: (
                "Push the agent image to its ECR repository",
                image_statements(repository_arn),
            ),
        }
        roles: dict[str, IamRole] = {}
        for role, (description, statements) in purposes.items():
            roles[role] = role_with_policy(
                self,
                f"{role}_role",
                name=github_role_name(settings, role),
                description=description,
                trust_policy=trusts[role],
                statements=statements,
                max_session_duration=GITHUB_ROLE_SESSION_SECONDS,
                # The deploy role's actions do not fit in any managed policy (see
                # boundary_statements); its own denies stand in for a boundary.
                permissions_boundary=None if role == DEPLOY else self.boundary.arn,
                bounded=role != DEPLOY,
            )
        return roles

    def scope_writes_by_tag(self, *, default_security_group_id: str) -> None:
        """The deploy role's tag-scoped writes (tagged.py), as two managed policies.

        Called once the network exists: the EC2 policy names the VPC's default security group
        by its ID, the one untagged resource the deploy role may tag (and close).
        """
        prefix = self.settings.prefix
        policies = {
            "network": (
                "EC2 writes of terraform apply, on resources with this environment's tags",
                network_statements(self.arns, default_security_group_id),
            ),
            "tagged": (
                "Keys, REST API and distribution writes, on this environment's tags",
                tagged_statements(self.arns),
            ),
        }
        for part, (description, statements) in policies.items():
            self._attach_to_deploy(
                (f"deploy_{part}", f"deploy_{part}_attachment"),
                name=f"{prefix}-github-deploy-{part}",
                description=description,
                statements=statements,
            )

    def _attach_to_deploy(
        self, ids: tuple[str, str], *, name: str, description: str, statements: list[Statement]
    ) -> None:
        """One more managed policy on the deploy role: its inline policy is near IAM's 10,240
        characters. `ids` are the policy's and the attachment's construct ids."""
        policy = IamPolicy(
            self, ids[0], name=name, description=description, policy=policy_json(statements)
        )
        IamRolePolicyAttachment(self, ids[1], role=self.roles[DEPLOY].name, policy_arn=policy.arn)

    def outputs(self, scope: Construct) -> None:
        """Role, provider and boundary ARNs as stack outputs (copied into GitHub variables)."""
        for role, output in ROLE_OUTPUTS.items():
            TerraformOutput(scope, output, value=self.roles[role].arn)
        TerraformOutput(scope, OIDC_PROVIDER_OUTPUT, value=self.provider_arn)
        TerraformOutput(scope, BOUNDARY_OUTPUT, value=self.boundary.arn)
