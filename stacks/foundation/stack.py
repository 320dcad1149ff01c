"""The `foundation` stack: shared primitives that change rarely (docs/ARCHITECTURE.md §1).

Reads top to bottom like the architecture: the GitHub delivery trust and the boundary every
role carries, one KMS key and the data it protects, the network agents run in, the cluster and
image repository, then the outputs — the typed `FoundationOutputs` that `agent` and `api` read
(each value becomes a Terraform output here and a remote-state read there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import TerraformOutput
from constructs import Construct

from stacks.foundation.compute import Compute
from stacks.foundation.data import DataPlane
from stacks.foundation.egress import Egress
from stacks.foundation.github import GithubOidc
from stacks.foundation.network import Network
from stacks.shared.settings import Settings
from stacks.shared.stack import CloudAgentStack


@dataclass(frozen=True)
class FoundationOutputs:
    """What the later workspaces may read of `foundation`, and nothing else."""

    key_arn: str
    table_name: str
    table_arn: str
    provider_secret_arns: Mapping[str, str]
    # The read-only clone token's secret, only with the setting private_repos.
    repo_token_secret_arn: str | None
    vpc_id: str
    # Where agent tasks run (public or private subnets, by network_mode) and RunTask's
    # assignPublicIp for them: ENABLED in public mode, DISABLED behind NAT (a constant).
    task_subnet_ids: Sequence[str]
    task_assign_public_ip: str
    cluster_arn: str
    cluster_name: str
    repository_arn: str
    repository_url: str
    exec_log_group_arn: str
    # The DNS Firewall's query log (None with egress_mode off) and the per-run domain list
    # (None unless egress_run_domains_allowed is set).
    egress_query_log_group_name: str | None = None
    egress_query_log_group_arn: str | None = None
    run_domain_list_id: str | None = None
    run_domain_list_arn: str | None = None


class FoundationStack(CloudAgentStack):
    """Table, secrets, VPC, DNS Firewall, ECS cluster, ECR repository and their log groups."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id, settings=settings)
        # First: it registers the permissions boundary that every later role here carries.
        self.github = GithubOidc(self, "github", settings=settings)
        self.data = DataPlane(self, "data", settings=settings)
        self.network = Network(self, "network", settings=settings, kms_key_arn=self.data.key.arn)
        self.egress = (
            Egress(
                self,
                "egress",
                settings=settings,
                vpc_id=self.network.vpc.id,
                kms_key_arn=self.data.key.arn,
            )
            if settings.egress_mode != "off"
            else None
        )
        self.compute = Compute(self, "compute", settings=settings, kms_key_arn=self.data.key.arn)
        query_logs = self.egress.query_log_group if self.egress else None
        run_domains = self.egress.run_domain_list if self.egress else None
        self.outputs = FoundationOutputs(
            key_arn=self.data.key.arn,
            table_name=self.data.table.name,
            table_arn=self.data.table.arn,
            provider_secret_arns={p: s.arn for p, s in self.data.secrets.items()},
            repo_token_secret_arn=(
                self.data.repo_token_secret.arn if self.data.repo_token_secret else None
            ),
            vpc_id=self.network.vpc.id,
            task_subnet_ids=[s.id for s in self.network.task_subnets],
            task_assign_public_ip=self.network.assign_public_ip,
            cluster_arn=self.compute.cluster.arn,
            cluster_name=self.compute.cluster.name,
            repository_arn=self.compute.repository.arn,
            repository_url=self.compute.repository.repository_url,
            exec_log_group_arn=self.compute.exec_log_group.arn,
            egress_query_log_group_name=query_logs.name if query_logs else None,
            egress_query_log_group_arn=query_logs.arn if query_logs else None,
            run_domain_list_id=run_domains.id if run_domains else None,
            run_domain_list_arn=run_domains.arn if run_domains else None,
        )
        self._terraform_outputs()

    def _terraform_outputs(self) -> None:
        """Human-readable outputs; cross-stack references add their own automatically."""
        values = {
            "kms_key_arn": self.data.key.arn,
            "table_name": self.data.table.name,
            "table_arn": self.data.table.arn,
            "vpc_id": self.network.vpc.id,
            "task_subnet_ids": [s.id for s in self.network.task_subnets],
            "public_subnet_ids": [s.id for s in self.network.public_subnets],
            "private_subnet_ids": [s.id for s in self.network.private_subnets],
            "cluster_arn": self.compute.cluster.arn,
            "cluster_name": self.compute.cluster.name,
            "repository_url": self.compute.repository.repository_url,
            "repository_arn": self.compute.repository.arn,
            "exec_log_group_name": self.compute.exec_log_group.name,
            "flow_log_group_name": self.network.flow_log_group.name,
        }
        if self.egress:
            values["dns_query_log_group_name"] = self.egress.query_log_group.name
        for name, value in values.items():
            TerraformOutput(self, name, value=value)
        self.github.outputs(self)
        TerraformOutput(self, "provider_secret_arns", value=dict(self.outputs.provider_secret_arns))
