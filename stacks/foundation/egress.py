"""The egress allow-list: Route 53 Resolver DNS Firewall on the VPC, and its query log.

Agent tasks run model-chosen commands; what they can reach is limited by name here (the
security group in `agent` limits ports, and DNS to this resolver). The setting `egress_mode`:

* `enforce` (default): names outside the allow-list get NXDOMAIN, and the firewall fails
  closed — if the DNS Firewall cannot answer, queries are refused rather than let through;
  an allowed name's redirection chain (a CDN's CNAME) is trusted, everything else inspected;
* `observe`: every name resolves, the ones outside the list are logged as ALERT (a dry run
  before enforcing); the firewall fails open, since it blocks nothing anyway;
* `off`: no firewall, no query log.

The allow-list is `egress_allow_domains` plus the AWS hosts Fargate needs for the task itself
(`stacks/shared/egress.py`) and the artifact bucket's host, which the control API's presigned
URLs name (`stacks/shared/artifacts.py`). With `egress_run_domains_allowed` non-empty, a
second list starts empty; the control API adds a run's domains to it while that run is running.
"""

from __future__ import annotations

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.route53_resolver_firewall_config import (
    Route53ResolverFirewallConfig,
)
from cdktf_cdktf_provider_aws.route53_resolver_firewall_domain_list import (
    Route53ResolverFirewallDomainList,
)
from cdktf_cdktf_provider_aws.route53_resolver_firewall_rule import Route53ResolverFirewallRule
from cdktf_cdktf_provider_aws.route53_resolver_firewall_rule_group import (
    Route53ResolverFirewallRuleGroup,
)
from cdktf_cdktf_provider_aws.route53_resolver_firewall_rule_group_association import (
    Route53ResolverFirewallRuleGroupAssociation,
)
from cdktf_cdktf_provider_aws.route53_resolver_query_log_config import (
    Route53ResolverQueryLogConfig,
)
from cdktf_cdktf_provider_aws.route53_resolver_query_log_config_association import (
    Route53ResolverQueryLogConfigAssociation,
)
from constructs import Construct

from stacks.shared.artifacts import artifact_bucket_host
from stacks.shared.egress import (
    ALLOW_LIST_PRIORITY,
    CATCH_ALL_DOMAIN,
    CATCH_ALL_PRIORITY,
    CATCH_ALL_SUFFIX,
    EGRESS_MODE_TAG,
    INSPECT_REDIRECTION,
    RUN_DOMAINS_PRIORITY,
    TRUST_REDIRECTION,
    aws_endpoint_domains,
)
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings

# Between the priorities AWS reserves for its own rule groups (100 and 9900).
ASSOCIATION_PRIORITY = 101


def allowed_domains(settings: Settings, account: str) -> list[str]:
    """The allow-list: the setting's names, the AWS hosts the task itself needs, then the
    artifact bucket's host."""
    domains = list(settings.egress_domains)
    domains += [d for d in aws_endpoint_domains(settings.region, account) if d not in domains]
    # The one host the presigned URLs name (the agent's conversation up, a continued run's
    # bundle down): this bucket's regional name exactly, never `*.s3...`, which would let a
    # task reach any bucket that takes its requests.
    bucket_host = artifact_bucket_host(settings, account)
    if bucket_host not in domains:
        domains.append(bucket_host)
    return domains


class Egress(Construct):
    """Domain lists, the rule group (allow, run domains, catch-all), its VPC association, the
    firewall's fail mode and the DNS query log. Build it only when `egress_mode` is not off."""

    def __init__(
        self, scope: Construct, id: str, *, settings: Settings, vpc_id: str, kms_key_arn: str
    ) -> None:
        super().__init__(scope, id)
        mode = settings.egress_mode
        if mode not in CATCH_ALL_SUFFIX:
            raise ValueError(
                f"egress_mode {mode!r}: the firewall exists only to enforce or observe"
            )
        self._settings = settings
        rules, everything = self._allow_rules(TerraformStack.of(self).arns.account)
        catch_all = self._catch_all(everything)
        self._attach(vpc_id, depends_on=[*rules, catch_all])
        self._query_log(vpc_id, kms_key_arn)

    def _allow_rules(
        self, account: str
    ) -> tuple[list[Route53ResolverFirewallRule], Route53ResolverFirewallDomainList]:
        """The rule group with its ALLOW rules (the allow-list, the runs' own domains), and the
        catch-all domain list for the rule that follows them."""
        settings = self._settings
        name = settings.prefix
        allow_list = Route53ResolverFirewallDomainList(
            self,
            "allow_list",
            name=f"{name}-egress-allow",
            domains=allowed_domains(settings, account),
        )
        everything = Route53ResolverFirewallDomainList(
            self, "all_domains", name=f"{name}-egress-all", domains=[CATCH_ALL_DOMAIN]
        )
        self.rule_group = Route53ResolverFirewallRuleGroup(
            self, "rule_group", name=f"{name}-egress"
        )
        rules = [
            Route53ResolverFirewallRule(
                self,
                "allow",
                name=f"{name}-egress-allow",
                firewall_rule_group_id=self.rule_group.id,
                firewall_domain_list_id=allow_list.id,
                priority=ALLOW_LIST_PRIORITY,
                action="ALLOW",
                # An allowed name's CNAME chain (a CDN) is not checked again (shared/egress.py).
                firewall_domain_redirection_action=TRUST_REDIRECTION,
            )
        ]
        self.run_domain_list: Route53ResolverFirewallDomainList | None = None
        if settings.run_egress_domains:
            # Starts empty; the control API adds a run's domains while it runs and removes them
            # afterwards, so Terraform leaves its contents alone.
            self.run_domain_list = Route53ResolverFirewallDomainList(
                self,
                "run_domains",
                name=f"{name}-run-domains",
                domains=[],
                lifecycle={"ignore_changes": ["domains"]},
            )
            rules.append(
                Route53ResolverFirewallRule(
                    self,
                    "allow_run_domains",
                    name=f"{name}-egress-run-domains",
                    firewall_rule_group_id=self.rule_group.id,
                    firewall_domain_list_id=self.run_domain_list.id,
                    priority=RUN_DOMAINS_PRIORITY,
                    action="ALLOW",
                    firewall_domain_redirection_action=TRUST_REDIRECTION,
                )
            )
        return rules, everything

    def _catch_all(
        self, everything: Route53ResolverFirewallDomainList
    ) -> Route53ResolverFirewallRule:
        """Last rule: every other name is blocked (enforce) or only alerted on (observe)."""
        mode = self._settings.egress_mode
        enforce = mode == "enforce"
        return Route53ResolverFirewallRule(
            self,
            "deny_all" if enforce else "alert_all",
            name=f"{self._settings.prefix}{CATCH_ALL_SUFFIX[mode]}",
            firewall_rule_group_id=self.rule_group.id,
            firewall_domain_list_id=everything.id,
            priority=CATCH_ALL_PRIORITY,
            action="BLOCK" if enforce else "ALERT",
            block_response="NXDOMAIN" if enforce else None,
            # Every name of a chain that did not start at an allowed name is still inspected.
            firewall_domain_redirection_action=INSPECT_REDIRECTION,
        )

    def _attach(self, vpc_id: str, *, depends_on: list[Route53ResolverFirewallRule]) -> None:
        """The rule group on the VPC, and whether DNS fails closed when the firewall fails."""
        mode = self._settings.egress_mode
        enforce = mode == "enforce"
        # Associated only once every rule exists, so the VPC never sees a partial rule group.
        # No mutation protection: `terraform destroy` and the deploy role must be able to
        # replace it; CKV_CA_19 guards what it must contain instead.
        Route53ResolverFirewallRuleGroupAssociation(
            self,
            "association",
            name=f"{self._settings.prefix}-egress",
            firewall_rule_group_id=self.rule_group.id,
            vpc_id=vpc_id,
            priority=ASSOCIATION_PRIORITY,
            mutation_protection="DISABLED",
            tags={EGRESS_MODE_TAG: mode},
            depends_on=depends_on,
        )
        Route53ResolverFirewallConfig(
            self,
            "config",
            resource_id=vpc_id,
            firewall_fail_open="DISABLED" if enforce else "ENABLED",
        )

    def _query_log(self, vpc_id: str, kms_key_arn: str) -> None:
        settings = self._settings
        # Every query and the firewall's verdict on it; the control API reads the blocked
        # names of a run from here (logs:FilterLogEvents on this group only).
        self.query_log_group = project_log_group(
            self,
            "query_log_group",
            name=settings.log_group_name("dns-queries"),
            kms_key_arn=kms_key_arn,
        )
        # Resolver delivers through CloudWatch Logs' vended-log delivery, which adds the log
        # group's resource policy on the deploy role's behalf (logs:PutResourcePolicy).
        query_log = Route53ResolverQueryLogConfig(
            self,
            "query_log",
            name=f"{settings.prefix}-dns-queries",
            destination_arn=self.query_log_group.arn,
        )
        Route53ResolverQueryLogConfigAssociation(
            self,
            "query_log_association",
            resolver_query_log_config_id=query_log.id,
            resource_id=vpc_id,
        )
