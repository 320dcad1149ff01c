"""The network boundary of an agent task: what a model-driven process may reach, and nothing else.

The agent runs commands a model chose, so its security group is the last line that keeps it
from talking to anything but HTTPS endpoints and the VPC resolver (which the DNS Firewall
watches). The group is created in the stack's scope so its Terraform logical id stays put.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.security_group import SecurityGroup, SecurityGroupEgress
from constructs import Construct

from stacks.shared.egress import DNS_PORT, HTTPS_PORT, resolver_cidr


@dataclass(frozen=True)
class TaskSecurityGroupProps:
    """The VPC a task runs in; its CIDR locates the resolver, the one DNS server allowed."""

    # The agent's name stem (stacks/agent/container.py task_family).
    name: str
    vpc_id: str
    vpc_cidr: str


class TaskSecurityGroup(Construct):
    """No inbound; outbound HTTPS anywhere and DNS to the VPC resolver alone."""

    def __init__(self, scope: Construct, id: str, *, props: TaskSecurityGroupProps) -> None:
        super().__init__(scope, id)
        # DNS to the VPC resolver alone (base + 2): any other DNS server would bypass the DNS
        # Firewall (CKV_CA_18).
        resolver = resolver_cidr(props.vpc_cidr)
        self.security_group = SecurityGroup(
            scope,
            "tasks_sg",
            name=f"{props.name}-tasks",
            description="Agent tasks: no inbound; outbound HTTPS and DNS only",
            vpc_id=props.vpc_id,
            ingress=[],
            egress=[
                SecurityGroupEgress(
                    description="HTTPS to model providers and code hosts",
                    protocol="tcp",
                    from_port=HTTPS_PORT,
                    to_port=HTTPS_PORT,
                    cidr_blocks=["0.0.0.0/0"],
                ),
                SecurityGroupEgress(
                    description="DNS (UDP) to the VPC resolver",
                    protocol="udp",
                    from_port=DNS_PORT,
                    to_port=DNS_PORT,
                    cidr_blocks=[resolver],
                ),
                SecurityGroupEgress(
                    description="DNS (TCP) to the VPC resolver",
                    protocol="tcp",
                    from_port=DNS_PORT,
                    to_port=DNS_PORT,
                    cidr_blocks=[resolver],
                ),
            ],
        )
