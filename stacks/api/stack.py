"""The `api` stack: the control plane (docs/ARCHITECTURE.md §1 and §5).

Reads top to bottom like the request path, inside out: the artifact bucket the control plane
presigns URLs for (a run's conversation, a continued run's bundle), the roles the control
functions run as, the functions Chalice built (with their triggers and the REST API), the edge
every request must come through (CloudFront + WAF), and the GitHub OIDC role that alone may
invoke the admin function. Values from `foundation` and `agent` arrive as their typed outputs
(remote state in Terraform).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import Construct

from stacks.agent import AgentOutputs
from stacks.api.artifacts import ArtifactBucket, ArtifactBucketProps
from stacks.api.control_plane import ControlPlane
from stacks.api.edge import Edge
from stacks.api.lambda_environment import lambda_environment
from stacks.api.origin_verify import OriginVerifySecret
from stacks.api.roles import AdminInvokeRole, AdminInvokeRoleProps, ControlRoles, ControlRolesProps
from stacks.foundation import FoundationOutputs
from stacks.shared.settings import Settings
from stacks.shared.stack import CloudAgentStack
from toolchain import chalice_package


class ApiStack(CloudAgentStack):
    """Control Lambdas, API Gateway, CloudFront + WAF, and the admin invoke role."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        foundation: FoundationOutputs,
        agent: AgentOutputs,
    ) -> None:
        super().__init__(scope, id, settings=settings)
        arns = self.arns
        package = chalice_package.build(settings.region)
        origin_verify = OriginVerifySecret(
            self, "origin_verify", settings=settings, kms_key_arn=foundation.key_arn
        )
        # --- What a continued run needs of its parent; only the control role reaches it. ---
        self.artifacts = ArtifactBucket(
            self,
            "artifacts",
            props=ArtifactBucketProps(settings=settings, arns=arns, kms_key_arn=foundation.key_arn),
        )
        roles = self._control_roles(package.functions, foundation, agent, origin_verify)
        environment = lambda_environment(
            settings,
            foundation,
            agent,
            origin_verify_secret_arn=origin_verify.secret.arn,
            artifact_bucket=self.artifacts.bucket.bucket,
        )
        # --- The functions Chalice built, their triggers and the REST API. ---
        self.control_plane = ControlPlane(
            self,
            "control_plane",
            settings=settings,
            package=package,
            roles=roles.function_roles,
            environment=environment,
            kms_key_arn=foundation.key_arn,
            cluster_arn=foundation.cluster_arn,
            origin_verify=origin_verify,
        )
        # --- The edge: CloudFront + WAF, the only way to the API. ---
        self.edge = Edge(
            self,
            "edge",
            settings=settings,
            api_domain=self.control_plane.api_domain,
            origin_verify=origin_verify,
            kms_key_arn=foundation.key_arn,
        )
        self._output_values(foundation, self._admin_invoke_role().role)

    def _control_roles(
        self,
        function_names: Sequence[str],
        foundation: FoundationOutputs,
        agent: AgentOutputs,
        origin_verify: OriginVerifySecret,
    ) -> ControlRoles:
        """The roles the control functions run as, granted on what the other workspaces and
        this stack (the origin secret, the artifact bucket) created."""
        return ControlRoles(
            self,
            "control_roles",
            props=ControlRolesProps(
                settings=self.settings,
                arns=self.arns,
                foundation=foundation,
                agent=agent,
                function_names=tuple(function_names),
                origin_verify_secret_arn=origin_verify.secret.arn,
                artifact_bucket_arn=self.artifacts.bucket.arn,
            ),
        )

    def _admin_invoke_role(self) -> AdminInvokeRole:
        """The GitHub OIDC role that alone may invoke the admin function."""
        return AdminInvokeRole(
            self,
            "admin_invoke",
            props=AdminInvokeRoleProps(
                settings=self.settings,
                arns=self.arns,
                admin_function_arn=self.control_plane.admin_function.arn,
            ),
        )

    def _output_values(self, foundation: FoundationOutputs, invoke_role: IamRole) -> None:
        """What an operator and the workflows read after apply: the URL, the admin handles."""
        for output, value in {
            "api_url": f"https://{self.edge.distribution.domain_name}",
            "execute_api_domain": self.control_plane.api_domain,
            "web_acl_arn": self.edge.web_acl.arn,
            "admin_function_name": self.control_plane.admin_function.function_name,
            "admin_invoke_role_arn": invoke_role.arn,
            "api_audience": self.settings.api_audience,
            "table_name": foundation.table_name,
            "artifact_bucket_name": self.artifacts.bucket.bucket,
        }.items():
            TerraformOutput(self, output, value=value)
