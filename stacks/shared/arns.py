"""ARNs of the project's resources, built one way: partition and account from the provider.

Every policy names resources through `Arns`, never a literal `arn:aws:` — the partition comes
from the `aws_partition` data source, so the same stacks deploy to aws-cn or aws-us-gov. Where a
resource's ARN is only known after creation, the pattern is scoped by the project's names
(`cloudagent-<env>-*`). Tests render the same statements with a literal account and partition
to check sizes and coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from stacks.shared.artifacts import artifact_bucket_name, artifact_bucket_pattern
from stacks.shared.constants import EDGE_REGION, GITHUB_OIDC_HOST
from stacks.shared.settings import Settings


def boundary_name(settings: Settings) -> str:
    """Name of the managed policy every project role carries as its permissions boundary."""
    return f"{settings.prefix}-boundary"


@dataclass(frozen=True)
class Arns:
    """The project's ARNs and ARN patterns; plain strings or Terraform tokens both work."""

    settings: Settings
    account: str
    partition: str = "aws"

    @classmethod
    def in_scope(cls, scope: Construct, settings: Settings) -> Arns:
        """ARNs whose account and partition are read from the provider of `scope`'s stack."""
        account = DataAwsCallerIdentity(scope, "account")
        partition = DataAwsPartition(scope, "partition")
        return cls(settings=settings, account=account.account_id, partition=partition.partition)

    def source_conditions(self, service: str, resource: str = "*") -> dict[str, dict[str, str]]:
        """Trust conditions against the confused deputy: only this account's `service` calls.

        `aws:SourceAccount` pins the account; `aws:SourceArn` (ArnLike) the service's resources
        in this region, for services that send it (ECS tasks, VPC Flow Logs).
        """
        return {
            "StringEquals": {"aws:SourceAccount": self.account},
            "ArnLike": {"aws:SourceArn": self.arn(service, resource)},
        }

    def source_account_condition(self) -> dict[str, dict[str, str]]:
        """`aws:SourceAccount` alone, for a service whose `aws:SourceArn` AWS does not document.

        Lambda's execution-role trusts: the Lambda guide allows both keys in a trust policy but
        says nothing of the ARN Lambda sends when it assumes the role (nor whether it sends one
        when CreateFunction checks that it can); an `ArnLike` on a key that is absent denies,
        so the function would not be created. The account alone is what AWS's own Lambda trust
        examples pin.
        """
        return {"StringEquals": {"aws:SourceAccount": self.account}}

    def arn(
        self, service: str, resource: str, *, region: str | None = None, account: str | None = None
    ) -> str:
        """`arn:<partition>:<service>:<region>:<account>:<resource>`.

        Region and account default to the stack's; `''` leaves one out (global services, or
        API Gateway, whose ARNs carry no account).
        """
        region = self.settings.region if region is None else region
        account = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def _iam(self, resource: str) -> str:
        return self.arn("iam", resource, region="")

    @property
    def regions(self) -> list[str]:
        return sorted({self.settings.region, EDGE_REGION})

    def _regional(self, service: str, resource: str) -> list[str]:
        return [self.arn(service, resource, region=r) for r in self.regions]

    @property
    def prefix(self) -> str:
        return self.settings.prefix

    @property
    def account_root(self) -> str:
        return self._iam("root")

    def role(self, name: str) -> str:
        return self._iam(f"role/{name}")

    @property
    def roles(self) -> str:
        return self._iam(f"role/{self.prefix}-*")

    @property
    def policies(self) -> str:
        return self._iam(f"policy/{self.prefix}-*")

    @property
    def boundary(self) -> str:
        """The boundary's ARN by name, so later stacks need no cross-stack reference."""
        return self._iam(f"policy/{boundary_name(self.settings)}")

    @property
    def oidc_provider(self) -> str:
        return self._iam(f"oidc-provider/{GITHUB_OIDC_HOST}")

    @property
    def waf_logging_role(self) -> str:
        return self._iam("role/aws-service-role/wafv2.amazonaws.com/AWSServiceRoleForWAFV2Logging")

    @property
    def table(self) -> list[str]:
        base = self.arn("dynamodb", f"table/{self.prefix}")
        return [base, f"{base}/index/*"]

    @property
    def secrets(self) -> list[str]:
        return [self.arn("secretsmanager", f"secret:{self.prefix}/*")]

    @property
    def origin_verify_secret(self) -> list[str]:
        return [self.arn("secretsmanager", f"secret:{self.prefix}/origin-verify-*")]

    @property
    def keys(self) -> list[str]:
        return self._regional("kms", "key/*")

    @property
    def aliases(self) -> list[str]:
        return [self.arn("kms", f"alias/{self.prefix}")]

    def log_group(self, name: str, *, region: str | None = None) -> str:
        return self.arn("logs", f"log-group:{name}", region=region)

    @property
    def log_groups(self) -> list[str]:
        """The project's log groups, and WAF's (named `aws-waf-logs-*`, beside the web ACL)."""
        return [
            self.log_group(f"{self.settings.log_group_prefix}/*"),
            self.log_group(self.settings.waf_log_group_name, region=EDGE_REGION),
        ]

    @property
    def log_groups_and_streams(self) -> list[str]:
        """`log_groups`, plus the `:*` form some log actions authorize against (the WAF's)."""
        return [
            *self.log_groups,
            self.log_group(f"{self.settings.waf_log_group_name}:*", region=EDGE_REGION),
        ]

    @property
    def cluster(self) -> list[str]:
        return [self.arn("ecs", f"cluster/{self.prefix}")]

    def container_instances_of(self, cluster_name: str) -> str:
        """What ecs:ListTasks authorizes against (the Service Authorization Reference)."""
        return self.arn("ecs", f"container-instance/{cluster_name}/*")

    @property
    def container_instances(self) -> list[str]:
        return [self.container_instances_of(self.prefix)]

    def tasks_of(self, cluster_name: str) -> str:
        return self.arn("ecs", f"task/{cluster_name}/*")

    def task_definition_family(self, family: str) -> str:
        """Every revision of one task definition family."""
        return self.arn("ecs", f"task-definition/{family}:*")

    @property
    def vpcs(self) -> list[str]:
        return [self.arn("ec2", "vpc/*")]

    @property
    def task_definitions(self) -> list[str]:
        return [self.arn("ecs", f"task-definition/{self.prefix}-*")]

    @property
    def tasks(self) -> list[str]:
        return [self.tasks_of(self.prefix)]

    @property
    def repositories(self) -> list[str]:
        return [self.arn("ecr", f"repository/{self.prefix}-*")]

    def repository(self, name: str) -> str:
        return self.arn("ecr", f"repository/{name}")

    @property
    def functions(self) -> list[str]:
        return [self.arn("lambda", f"function:{self.prefix}-*")]

    @property
    def rules(self) -> list[str]:
        return [self.arn("events", f"rule/{self.prefix}-*")]

    @property
    def rest_api_collection(self) -> list[str]:
        """What creating a REST API (`POST /restapis`) authorizes against."""
        return [self.arn("apigateway", "/restapis", account="")]

    @property
    def rest_api_parts(self) -> list[str]:
        """Every REST API and its parts (stages, deployments...): named by generated IDs."""
        return [self.arn("apigateway", "/restapis/*", account="")]

    @property
    def api_tags(self) -> list[str]:
        """API Gateway's tagging endpoint (`/tags/<ARN>`)."""
        return [self.arn("apigateway", "/tags/*", account="")]

    @property
    def distributions(self) -> list[str]:
        return [self.arn("cloudfront", "distribution/*", region="")]

    @property
    def web_acls(self) -> list[str]:
        return [
            self.arn("wafv2", f"global/webacl/{self.prefix}/*", region=EDGE_REGION),
            # AWS managed rule groups referenced by the web ACL (owned by AWS, not this account),
            # by their names' prefix: never another vendor's or a team's own rule sets.
            self.arn(
                "wafv2",
                "global/managedruleset/AWSManagedRules*/*",
                region=EDGE_REGION,
                account="*",
            ),
        ]

    @property
    def dns_firewall(self) -> list[str]:
        """Route 53 Resolver names its firewall and query-log resources by generated ID, so the
        scope is this account and region (the deploy role adds tag conditions)."""
        return [self.arn("route53resolver", "*")]

    @property
    def ec2(self) -> list[str]:
        """EC2 names resources by generated ID, so the scope is this account and region."""
        return [self.arn("ec2", "*")]

    def s3(self, resource: str) -> str:
        """An S3 bucket or object ARN: S3 ARNs carry neither region nor account."""
        return f"arn:{self.partition}:s3:::{resource}"

    @property
    def artifact_bucket(self) -> str:
        """The artifact bucket (stacks/shared/artifacts.py), by its name: one bucket."""
        return self.s3(artifact_bucket_name(self.settings, self.account))

    @property
    def artifact_buckets(self) -> str:
        """This environment's artifact buckets and their objects (`<prefix>-artifacts-*`)."""
        return self.s3(artifact_bucket_pattern(self.settings))

    def state(self) -> tuple[list[str], list[str]]:
        """(bucket, objects) of this environment's state; empty without a state bucket."""
        bucket = self.settings.state_bucket
        if not bucket:
            return [], []
        key_prefix = self.settings.state_key("x").rsplit("/", 1)[0]
        base = self.s3(bucket)
        return [base], [f"{base}/{key_prefix}/*"]
