"""CKV_CA_19: the VPC's DNS Firewall ends in a catch-all rule that does what its mode says.

The egress allow-list (docs/ARCHITECTURE.md §6) is a Route 53 Resolver DNS Firewall rule group:
ALLOW rules for the allow-listed names, then one rule on the catch-all domain list (`*`) at
the highest priority number, evaluated last. In `enforce` mode that rule must BLOCK with
NXDOMAIN — without it the allow-list allows everything; in `observe` mode it ALERTs.

A resource check sees one resource at a time, so the guarantee is split over the two resources
that carry it:

* the rule group's VPC association carries the mode as the tag `EgressMode` (`enforce` or
  `observe`) and `depends_on` the catch-all rule for that mode (`..._deny_all_...` or
  `..._alert_all_...`): an enforce association that does not wait for a deny-all rule fails;
* each rule: the catch-all rule for `enforce` (name ending `-egress-deny-all`) must BLOCK with
  NXDOMAIN at `CATCH_ALL_PRIORITY`; the `observe` one (`-egress-alert-all`) must ALERT there;
  every other rule must come before it (a lower priority number);
* every ALLOW rule trusts its names' redirection chains (`firewall_domain_redirection_action`
  `TRUST_REDIRECTION_DOMAIN`): with AWS's default, a listed host behind a CDN's CNAME hits the
  catch-all and the install fails closed. The catch-all keeps inspecting every name of a chain.

In a plan, `depends_on` is not part of the resource, so associations are judged in the synth.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, Unknown, as_list, attr, is_plan, unwrap
from stacks.shared.egress import (
    CATCH_ALL_PRIORITY,
    CATCH_ALL_SUFFIX,
    EGRESS_MODE_TAG,
    TRUST_REDIRECTION,
)

RULE = "aws_route53_resolver_firewall_rule"
ASSOCIATION = "aws_route53_resolver_firewall_rule_group_association"
# The catch-all rule's construct id by mode (stacks/foundation/egress.py), as cdktf writes it
# into the address the association depends on.
CATCH_ALL_ADDRESS = {"enforce": "_deny_all_", "observe": "_alert_all_"}


def _priority(conf: dict[str, Any]) -> int | None:
    try:
        return int(attr(conf, "priority"))
    except (TypeError, ValueError):
        return None


class DnsFirewallDefaultDeny(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="DNS Firewall: the VPC's rule group ends in a catch-all rule that blocks "
            "(NXDOMAIN) in enforce mode or alerts in observe mode, after every allow rule",
            id="CKV_CA_19",
            resources=[RULE, ASSOCIATION],
            categories=[CheckCategories.NETWORKING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        if self.entity_type == ASSOCIATION:
            return self._association(conf)
        return self._rule(conf)

    def _association(self, conf: dict[str, Any]) -> list[str]:
        tags = attr(conf, "tags") or {}
        mode = tags.get(EGRESS_MODE_TAG) if isinstance(tags, dict) else None
        if mode not in CATCH_ALL_ADDRESS:
            return [f"tag {EGRESS_MODE_TAG} is {mode!r}: must say enforce or observe"]
        depends = [str(unwrap(d)) for d in as_list(unwrap(conf.get("depends_on")))]
        if not depends and is_plan(conf):
            raise Unknown("depends_on is not part of a plan's resource")
        wanted = CATCH_ALL_ADDRESS[mode]
        if not any(d.startswith(f"{RULE}.") and wanted in d for d in depends):
            what = "default-deny" if mode == "enforce" else "catch-all alert"
            return [f"{mode} mode without a {what} rule: the association does not depend on one"]
        return []

    def _rule(self, conf: dict[str, Any]) -> list[str]:
        name = str(attr(conf, "name", ""))
        action = str(attr(conf, "action", "")).upper()
        redirection = str(attr(conf, "firewall_domain_redirection_action", "") or "").upper()
        catch_all = name.endswith(tuple(CATCH_ALL_SUFFIX.values()))
        if action == "ALLOW" and redirection != TRUST_REDIRECTION:
            return [
                f"allow rule {name!r} inspects redirection chains ({redirection or 'default'}): "
                f"a listed host behind a CDN's CNAME is refused; set {TRUST_REDIRECTION}"
            ]
        if catch_all and redirection == TRUST_REDIRECTION:
            return [f"catch-all rule {name!r} trusts redirection chains: it must inspect them"]
        return self._order(conf, name, action)

    def _order(self, conf: dict[str, Any], name: str, action: str) -> list[str]:
        priority = _priority(conf)
        if name.endswith(CATCH_ALL_SUFFIX["enforce"]):
            found = []
            if action != "BLOCK":
                found.append(f"enforce mode's default-deny rule {name!r} has action {action}")
            response = str(attr(conf, "block_response", "")).upper()
            if action == "BLOCK" and response != "NXDOMAIN":
                found.append(f"default-deny rule {name!r} answers {response or None}, not NXDOMAIN")
            if priority != CATCH_ALL_PRIORITY:
                found.append(f"default-deny rule at priority {priority}, not {CATCH_ALL_PRIORITY}")
            return found
        if name.endswith(CATCH_ALL_SUFFIX["observe"]):
            found = []
            if action != "ALERT":
                found.append(f"observe mode's catch-all rule {name!r} has action {action}")
            if priority != CATCH_ALL_PRIORITY:
                found.append(f"catch-all rule at priority {priority}, not {CATCH_ALL_PRIORITY}")
            return found
        if priority is None or priority >= CATCH_ALL_PRIORITY:  # any other rule
            return [
                f"rule {name!r} at priority {priority}: every rule must come before the "
                f"catch-all at {CATCH_ALL_PRIORITY}"
            ]
        return []


check = DnsFirewallDefaultDeny()
