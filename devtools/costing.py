"""Price synthesized stacks: the idle month line by line, and an agent-hour per option.

Counted from the Terraform JSON itself (what would be deployed), priced with the table in
`stacks/shared/resource_prices.py` and the Fargate rates in `stacks/shared/prices.py`. Anything
the table cannot price honestly — a type without an entry, a `count` that is an expression, a
paid WAF rule group, an interface VPC endpoint — raises `UnpricedError` instead of counting as
free, so the idle figure is never an undercount by omission.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from stacks.shared.prices import ARCHITECTURES, CAPACITIES, task_hourly_cost_usd
from stacks.shared.resource_prices import (
    FREE_WAF_MANAGED_GROUPS,
    PUBLIC_IPV4_HOURLY_USD,
    RESOURCE_PRICES,
    ResourcePrice,
)
from stacks.shared.settings import Settings

MINUTES_PER_MONTH = 730 * 60
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


class UnpricedError(ValueError):
    """The synthesized JSON holds something the price table cannot price."""


@dataclass(frozen=True)
class IdleLine:
    """One resource type in one stack: how many, of what unit, at what monthly price."""

    stack: str
    resource_type: str
    resources: int
    units: float
    per: str
    unit_usd: float
    fixed_usd: float
    monthly_usd: float
    later_monthly_usd: float
    basis: str
    source: str


@dataclass(frozen=True)
class AgentHour:
    """An agent task-hour for one capacity and architecture, public IPv4 included if used."""

    capacity: str
    architecture: str
    fargate_usd: float
    public_ipv4_usd: float
    total_usd: float
    configured: bool


def _instances(address: str, resource: dict[str, Any], priced: bool) -> int:
    """How many real resources one block makes: `count`/`for_each` when literal, else 1.

    An expression cannot be counted before apply: refused for a priced type, 1 for a free one.
    """
    for meta in ("count", "for_each"):
        if meta in resource:
            value = resource[meta]
            if isinstance(value, bool) or not isinstance(value, int | list | dict):
                if not priced:
                    return 1
                raise UnpricedError(f"{address}: `{meta}` is {value!r}, not a literal to count")
            return value if isinstance(value, int) else len(value)
    return 1


def _waf_rules(address: str, acl: dict[str, Any]) -> int:
    rules = acl.get("rule", [])
    for rule in rules:
        group = rule.get("statement", {}).get("managed_rule_group_statement")
        if group and group.get("name") not in FREE_WAF_MANAGED_GROUPS:
            raise UnpricedError(
                f"{address}: managed rule group {group.get('name')!r} has its own fees; add it "
                "to stacks/shared/resource_prices.py before using it"
            )
    return len(rules)


def _scheduled_invocations(address: str, rule: dict[str, Any]) -> float:
    expression = rule.get("schedule_expression")
    if not expression:
        return 0  # an event pattern: AWS service events are free
    match = _RATE.fullmatch(expression)
    if not match:
        raise UnpricedError(f"{address}: cannot count invocations of {expression!r}")
    every = int(match[1]) * _MINUTES[match[2].rstrip("s")]
    return MINUTES_PER_MONTH / every


def _units(address: str, price: ResourcePrice, resource: dict[str, Any]) -> float:
    """The billable units in one resource, by the entry's `per`."""
    if price.per == "resource":
        return 1
    if price.per == "rule":
        return _waf_rules(address, resource)
    if price.per == "domain":
        domains = resource.get("domains", [])
        if not isinstance(domains, list):
            raise UnpricedError(f"{address}: `domains` is {domains!r}, not a list to count")
        return len(domains)
    if price.per == "invocation":
        return _scheduled_invocations(address, resource)
    if price.per == "advanced rule":
        return 1 if resource.get("dns_threat_protection") else 0
    raise UnpricedError(f"{address}: the price table counts per {price.per!r}, unknown here")


def _check_conditions(address: str, price: ResourcePrice, resource: dict[str, Any]) -> None:
    for attribute, expected in price.requires.items():
        if resource.get(attribute) != expected:
            raise UnpricedError(
                f"{address}: {attribute} is {resource.get(attribute)!r}; the price table "
                f"prices this type only with {attribute} = {expected!r}"
            )
    for attribute in price.forbids:
        if resource.get(attribute):
            raise UnpricedError(
                f"{address}: {attribute} is set, which the price table does not price"
            )


def missing_prices(stacks: dict[str, dict]) -> dict[str, list[str]]:
    """Resource types without a price entry, by stack (empty: everything is priced)."""
    missing: dict[str, list[str]] = {}
    for stack, doc in stacks.items():
        types = sorted(t for t in doc.get("resource", {}) if t not in RESOURCE_PRICES)
        if types:
            missing[stack] = types
    return missing


def idle_lines(stacks: dict[str, dict]) -> list[IdleLine]:
    """Every resource type of every stack, priced for an idle month."""
    missing = missing_prices(stacks)
    if missing:
        listed = "; ".join(f"{stack}: {', '.join(types)}" for stack, types in missing.items())
        raise UnpricedError(
            f"no price for {listed}: add each type to stacks/shared/resource_prices.py "
            "(0 with the reason when it costs nothing idle)"
        )
    lines = []
    for stack, doc in stacks.items():
        for kind, blocks in sorted(doc.get("resource", {}).items()):
            price = RESOURCE_PRICES[kind]
            priced = bool(price.monthly_usd or price.fixed_usd or price.later_monthly_usd)
            resources, units = 0, 0.0
            for name, resource in blocks.items():
                address = f"{stack}: {kind}.{name}"
                _check_conditions(address, price, resource)
                instances = _instances(address, resource, priced)
                resources += instances
                units += instances * _units(address, price, resource)
            fixed = resources * price.fixed_usd
            later = price.later_monthly_usd
            lines.append(
                IdleLine(
                    stack=stack,
                    resource_type=kind,
                    resources=resources,
                    units=units,
                    per=price.per,
                    unit_usd=price.monthly_usd,
                    fixed_usd=price.fixed_usd,
                    monthly_usd=round(fixed + units * price.monthly_usd, 4),
                    later_monthly_usd=round(
                        fixed + units * (price.monthly_usd if later is None else later), 4
                    ),
                    basis=price.basis,
                    source=price.source,
                )
            )
    return lines


def idle_total(lines: list[IdleLine], later: bool = False) -> float:
    """The idle month: as priced today, or (`later`) once every price step has happened."""
    return round(sum(line.later_monthly_usd if later else line.monthly_usd for line in lines), 2)


def configured_capacities(capacity: str) -> tuple[str, ...]:
    """The Fargate capacities a `capacity` setting runs tasks on (the fallback included)."""
    return ("spot", "on-demand") if capacity == "spot-then-on-demand" else (capacity,)


def agent_hours(settings: Settings) -> list[AgentHour]:
    """An agent task-hour per capacity x architecture; the configured ones are marked."""
    ipv4 = PUBLIC_IPV4_HOURLY_USD if settings.network_mode == "public" else 0.0
    used = configured_capacities(settings.capacity)
    rows = []
    for capacity in CAPACITIES:
        for architecture in ARCHITECTURES:
            fargate = task_hourly_cost_usd(architecture, capacity)
            rows.append(
                AgentHour(
                    capacity=capacity,
                    architecture=architecture,
                    fargate_usd=fargate,
                    public_ipv4_usd=ipv4,
                    total_usd=round(fargate + ipv4, 5),
                    configured=capacity in used and architecture == settings.agent_architecture,
                )
            )
    return rows


def report(stacks: dict[str, dict], settings: Settings) -> dict[str, Any]:
    """Everything `make cost` prints, as data (`--json`)."""
    lines = idle_lines(stacks)
    return {
        "idle": {
            "lines": [asdict(line) for line in lines],
            "monthly_usd": idle_total(lines),
            "later_monthly_usd": idle_total(lines, later=True),
        },
        "agent_hour": [asdict(row) for row in agent_hours(settings)],
        "settings": {
            "region": settings.region,
            "network_mode": settings.network_mode,
            "nat_gateway_count": settings.nat_gateway_count,
            "capacity": settings.capacity,
            "agent_architecture": settings.agent_architecture,
        },
    }
