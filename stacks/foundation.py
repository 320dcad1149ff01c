"""The `foundation` stack: shared primitives that change rarely (DESIGN §1).

Reads top to bottom like the architecture: one KMS key and the data it protects, the network
agents run in, the cluster and image repository, then the outputs the later stacks consume.
"""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from stacks.base import CloudAgentStack
from stacks.compute import Compute
from stacks.data import DataPlane
from stacks.github_oidc import GithubOidc
from stacks.network import Network
from stacks.settings import Settings


class FoundationStack(CloudAgentStack):
    """Table, secrets, VPC, ECS cluster, ECR repository and their log groups."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id, settings=settings)
        # First: it registers the permissions boundary that every later role here carries.
        self.github = GithubOidc(self, "github", settings=settings)
        self.data = DataPlane(self, "data", settings=settings)
        self.network = Network(self, "network", settings=settings, kms_key_arn=self.data.key.arn)
        self.compute = Compute(self, "compute", settings=settings, kms_key_arn=self.data.key.arn)
        self._outputs()

    def _outputs(self) -> None:
        """Human-readable outputs; cross-stack references add their own automatically."""
        values = {
            "kms_key_arn": self.data.key.arn,
            "table_name": self.data.table.name,
            "table_arn": self.data.table.arn,
            "vpc_id": self.network.vpc.id,
            "private_subnet_ids": [s.id for s in self.network.private_subnets],
            "cluster_arn": self.compute.cluster.arn,
            "cluster_name": self.compute.cluster.name,
            "repository_url": self.compute.repository.repository_url,
            "repository_arn": self.compute.repository.arn,
            "exec_log_group_name": self.compute.exec_log_group.name,
            "flow_log_group_name": self.network.flow_log_group.name,
        }
        for name, value in values.items():
            TerraformOutput(self, name, value=value)
        self.github.outputs(self)
        TerraformOutput(
            self,
            "provider_secret_arns",
            value={provider: secret.arn for provider, secret in self.data.secrets.items()},
        )
