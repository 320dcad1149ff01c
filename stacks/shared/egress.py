"""What agent tasks may reach, as facts the foundation stack, the agent stack and the checks share.

Egress is two parts (docs/ARCHITECTURE.md §6): the tasks' security group lets out only HTTPS
and DNS to the VPC's own resolver, and the Route 53 Resolver DNS Firewall on that resolver
answers only the allow-listed names. Names, not connections: HTTPS to a literal address passes
(what that does and does not stop: docs/ARCHITECTURE.md §6.4). A check (CKV_CA_18, CKV_CA_19)
and the stacks read the same numbers from here, so they cannot disagree.
"""

from __future__ import annotations

import ipaddress

# The DNS Firewall evaluates rules by priority, lowest first; the first match decides. The
# allow-lists come first, the catch-all last: nothing may be evaluated after it.
ALLOW_LIST_PRIORITY = 100
RUN_DOMAINS_PRIORITY = 200
CATCH_ALL_PRIORITY = 1000
# AWS documents `*` as the domain that matches every name (a catch-all rule).
CATCH_ALL_DOMAIN = "*"
# The catch-all rule's name ends with one of these, by mode; CKV_CA_19 reads them.
CATCH_ALL_SUFFIX = {"enforce": "-egress-deny-all", "observe": "-egress-alert-all"}
# How an ALLOW rule treats a redirection chain (CNAME, DNAME): AWS's default inspects every name
# of the chain, so a listed package host served through a CDN (`files.pythonhosted.org` ->
# `dualstack.python.map.fastly.net`) would hit the catch-all and, failing closed, break
# installs. Trusting the chain checks the name asked for only; its owner chooses where it
# points anyway. The catch-all keeps AWS's default (inspect). CKV_CA_19 reads both.
TRUST_REDIRECTION = "TRUST_REDIRECTION_DOMAIN"
INSPECT_REDIRECTION = "INSPECT_REDIRECTION_DOMAIN"
# The association carries the mode as this tag, so a check knows what the firewall must do.
EGRESS_MODE_TAG = "EgressMode"
# The only ports tasks may open: HTTPS anywhere, DNS to the VPC resolver.
HTTPS_PORT = 443
DNS_PORT = 53


def resolver_cidr(vpc_cidr: str) -> str:
    """The Amazon-provided VPC resolver: the VPC's base address plus two, as a /32."""
    network = ipaddress.IPv4Network(vpc_cidr)
    return f"{network.network_address + 2}/32"


def aws_endpoint_domains(region: str, account: str) -> list[str]:
    """Hosts Fargate itself resolves through the task's ENI (platform 1.4), by exact name.

    On platform 1.4 the image pull, the secrets, the log driver and ECS Exec's agent all use the
    task's own network interface, so the VPC resolver — and its DNS Firewall — answers for them.
    Each is one host name; never `*.amazonaws.com`, which would open every AWS service (and
    every S3 bucket) to the agent.
    """
    suffix = f"{region}.amazonaws.com"
    return [
        f"api.ecr.{suffix}",  # ECR API: the registry login (GetAuthorizationToken)
        f"{account}.dkr.ecr.{suffix}",  # the registry: image manifests and layer URLs
        # ECR serves layers from this S3 bucket (regional and legacy global endpoint names).
        f"prod-{region}-starport-layer-bucket.s3.{suffix}",
        f"prod-{region}-starport-layer-bucket.s3.amazonaws.com",
        f"secretsmanager.{suffix}",  # the provider key ECS injects at start
        f"logs.{suffix}",  # the awslogs driver
        f"ssmmessages.{suffix}",  # ECS Exec: the SSM agent's session channels
        f"ec2messages.{suffix}",  # ECS Exec: the SSM agent's message service
        f"ssm.{suffix}",  # ECS Exec: the SSM agent's registration
        f"kms.{suffix}",  # ECS Exec: sessions are encrypted with the project key
    ]
