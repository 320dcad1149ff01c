"""The VPC agents run in: two AZs, public and private subnets, no inbound path at all.

Where tasks run depends on the setting `network_mode`:

* `public` (default): tasks run in the public subnets with their own public IPv4 (RunTask's
  `assignPublicIp`), behind a security group with no inbound rule. No NAT gateway, no Elastic
  IP: the idle VPC costs nothing. The private subnets stay (free) with no default route.
* `nat`: tasks run in the private subnets without a public IP; `nat_gateway_count` NAT
  gateways (one shared, or one per AZ) give them a fixed egress IP that third parties can
  allow-list.

Subnet CIDRs are computed here, at synth, so a `terraform plan` shows literal ranges a reviewer
can check rather than `cidrsubnet()` expressions.
"""

from __future__ import annotations

import ipaddress

from cdktf import Fn, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from stacks.foundation.endpoint_policies import dynamodb_endpoint_policy, s3_endpoint_policy
from stacks.shared.iam import Statement, role_with_policy, service_trust_json
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings

AZ_COUNT = 2


def subnet_cidrs(vpc_cidr: str) -> tuple[list[str], list[str]]:
    """Quarter the VPC: public subnets take the first two quarters, private the last two."""
    quarters = [str(n) for n in ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=2)]
    return quarters[:AZ_COUNT], quarters[AZ_COUNT:]


class Network(Construct):
    """VPC, subnets, NAT (mode `nat`), gateway endpoints, flow logs, a closed default group.

    `task_subnets` are where agent tasks run, and `assign_public_ip` how (RunTask's values).
    """

    def __init__(self, scope: Construct, id: str, *, settings: Settings, kms_key_arn: str) -> None:
        super().__init__(scope, id)
        self._settings = settings
        name = settings.prefix
        self._zones = DataAwsAvailabilityZones(self, "zones", state="available")
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=settings.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": name},
        )
        # The default security group denies everything; tasks get their own group.
        DefaultSecurityGroup(self, "default_sg", vpc_id=self.vpc.id, ingress=[], egress=[])

        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": name})
        public_rt = RouteTable(
            self, "public_rt", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"}
        )
        Route(
            self,
            "public_default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )

        public_cidrs, private_cidrs = subnet_cidrs(settings.vpc_cidr)
        nats = self._public_subnets(public_cidrs, public_rt, igw)
        private_route_tables = self._private_subnets(private_cidrs, nats)
        self._gateway_endpoints([public_rt, *private_route_tables])
        public_mode = settings.network_mode == "public"
        self.task_subnets = self.public_subnets if public_mode else self.private_subnets
        self.assign_public_ip = "ENABLED" if public_mode else "DISABLED"
        self._flow_logs(kms_key_arn)

    def _public_subnets(
        self, cidrs: list[str], route_table: RouteTable, igw: InternetGateway
    ) -> list[NatGateway]:
        """One public subnet per AZ on the internet gateway; NAT gateways in mode `nat`."""
        settings = self._settings
        name = settings.prefix
        self.public_subnets: list[Subnet] = []
        nats: list[NatGateway] = []
        for index in range(AZ_COUNT):
            az = Fn.element(self._zones.names, index)
            public = Subnet(
                self,
                f"public_{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidrs[index],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{index}", "Tier": "public"},
            )
            RouteTableAssociation(
                self, f"public_{index}_rt", subnet_id=public.id, route_table_id=route_table.id
            )
            self.public_subnets.append(public)
            if settings.network_mode == "nat" and index < settings.nat_gateway_count:
                eip = Eip(
                    self, f"nat_eip_{index}", domain="vpc", tags={"Name": f"{name}-nat-{index}"}
                )
                nats.append(
                    NatGateway(
                        self,
                        f"nat_{index}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags={"Name": f"{name}-nat-{index}"},
                        depends_on=[igw],
                    )
                )
        return nats

    def _private_subnets(self, cidrs: list[str], nats: list[NatGateway]) -> list[RouteTable]:
        """One private subnet per AZ, routed to a NAT gateway when there is one, else nowhere."""
        name = self._settings.prefix
        self.private_subnets: list[Subnet] = []
        route_tables: list[RouteTable] = []
        for index in range(AZ_COUNT):
            private = Subnet(
                self,
                f"private_{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidrs[index],
                availability_zone=Fn.element(self._zones.names, index),
                tags={"Name": f"{name}-private-{index}", "Tier": "private"},
            )
            route_table = RouteTable(
                self,
                f"private_rt_{index}",
                vpc_id=self.vpc.id,
                tags={"Name": f"{name}-private-{index}"},
            )
            if nats:
                # With one NAT gateway both AZs share it (cheaper; egress depends on one AZ).
                Route(
                    self,
                    f"private_{index}_default",
                    route_table_id=route_table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nats[min(index, len(nats) - 1)].id,
                )
            RouteTableAssociation(
                self, f"private_{index}_rt", subnet_id=private.id, route_table_id=route_table.id
            )
            self.private_subnets.append(private)
            route_tables.append(route_table)
        return route_tables

    def _gateway_endpoints(self, route_tables: list[RouteTable]) -> None:
        """Gateway endpoints (free) keep table and image-layer traffic off the NAT gateways and
        the internet gateway, in whichever subnets tasks run; their policies let through only
        this deployment's objects and table and ECR's layers."""
        settings = self._settings
        arns = TerraformStack.of(self).arns
        # Each passes only what the tasks need (stacks/foundation/endpoint_policies.py).
        policies = {
            "s3": s3_endpoint_policy(settings, arns),
            "dynamodb": dynamodb_endpoint_policy(settings, arns),
        }
        for service, policy in policies.items():
            VpcEndpoint(
                self,
                f"endpoint_{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{settings.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in route_tables],
                policy=policy,
                tags={"Name": f"{settings.prefix}-{service}"},
            )

    def _flow_logs(self, kms_key_arn: str) -> None:
        """Every flow of the VPC, to an encrypted log group, through a role for that alone."""
        settings = self._settings
        name = settings.prefix
        self.flow_log_group = project_log_group(
            self,
            "flow_logs",
            name=settings.log_group_name("vpc-flow-logs"),
            kms_key_arn=kms_key_arn,
        )
        flow_role = role_with_policy(
            self,
            "flow_log_role",
            name=f"{name}-vpc-flow-logs",
            description="Lets VPC Flow Logs write to the project's flow log group",
            trust_policy=service_trust_json(
                "vpc-flow-logs.amazonaws.com",
                TerraformStack.of(self).arns.source_conditions("ec2", "vpc-flow-log/*"),
            ),
            statements=[
                Statement(
                    sid="WriteFlowLogGroup",
                    actions=[
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                    ],
                    resources=[
                        self.flow_log_group.arn,
                        f"{self.flow_log_group.arn}:log-stream:*",
                    ],
                )
            ],
        )
        FlowLog(
            self,
            "flow_log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
        )
