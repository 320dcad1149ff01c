"""What the DNS Firewall blocked for a run, read from its query log when the task stops.

The control plane reads this itself rather than trusting the agent to report it: the agent's
container can neither forge nor suppress the Route 53 Resolver query log. A task has its own
private IPv4 address (awsvpc ENI) for its whole life, so the run's queries are the log
records whose ``srcaddr`` is that address between the task's start and stop.

Record fields used (Route 53 Developer Guide, "Values that appear in VPC Resolver query
logs"): ``srcaddr`` (the querying address), ``query_timestamp`` (ISO 8601 UTC),
``query_name`` (with a trailing dot), ``firewall_rule_action`` (``BLOCK``, ``ALERT`` or
``ALLOW``, present when a firewall rule matched). ``BLOCK`` records are what was refused
(egress_mode enforce); ``ALERT`` records are what would have been refused (egress_mode
observe). Reading is bounded (a few pages) so the stop handler stays fast; anything that goes
wrong leaves the lists null with a reason - the run still finalizes.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from datetime import timedelta
from typing import Any

from ..core import aws
from ..core.config import ApiConfig
from ..core.domains import normalize
from ..core.times import now_iso, parse_time

log = logging.getLogger(__name__)

MAX_NAMES = 100  # per list; more sets blocked_domains_truncated
MAX_PAGES = 5  # FilterLogEvents calls per run
PAGE_EVENTS = 10_000  # events per call (the API's maximum; a page is also at most 1 MB)
# A query's record reaches the log group a little after the query; the window ends this much
# after stoppedAt (an ENI's address is not handed to another task that fast).
END_SLACK = timedelta(seconds=5)
ACTIONS = {"BLOCK": "blocked_domains", "ALERT": "alerted_domains"}


def task_private_ip(task: dict[str, Any]) -> str | None:
    """The task's private IPv4 from its ENI attachment (ECS events and DescribeTasks carry
    ``attachments[].details`` with ``privateIPv4Address``); None when not assigned yet."""
    for attachment in task.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        for detail in attachment.get("details") or []:
            if isinstance(detail, dict) and detail.get("name") == "privateIPv4Address":
                value = detail.get("value")
                try:
                    return str(ipaddress.IPv4Address(value))
                except (ipaddress.AddressValueError, ValueError):
                    return None
    return None


def filter_pattern(ip: str) -> str:
    """CloudWatch Logs JSON filter: this address's BLOCK and ALERT records only (ALLOW and
    unmatched queries never leave the service). The records are checked again on read."""
    return (
        f'{{ ($.srcaddr = "{ip}") && (($.firewall_rule_action = "BLOCK") || '
        f'($.firewall_rule_action = "ALERT")) }}'
    )


def empty_fields(error: str, *, final: bool = True) -> dict[str, Any]:
    """The fields of a run whose firewall log was not (or could not be) read; ``final``
    False (a failed read) leaves ``blocked_domains_read_at`` unset so the reaper retries."""
    out: dict[str, Any] = {
        "blocked_domains": None,
        "alerted_domains": None,
        "blocked_domains_truncated": None,
        "blocked_domains_error": error,
    }
    if final:
        out["blocked_domains_read_at"] = now_iso()
    return out


class BlockedDomains:
    """Reads one task's BLOCK/ALERT names from the firewall's query-log log group."""

    def __init__(self, settings: ApiConfig, client: Any | None = None):
        self.settings = settings
        self._client = client

    api = aws.LazyClient("logs")

    def fields(self, record: dict[str, Any]) -> dict[str, Any]:
        """The run's ``blocked_domains`` fields from its stored address and times; never
        raises (the lists are null and ``blocked_domains_error`` says why)."""
        group = self.settings.egress_query_log_group
        if self.settings.egress_mode == "off" or not group:
            return empty_fields("egress_mode is off: there is no DNS Firewall query log")
        ip = record.get("private_ip")
        start = parse_time(
            record.get("billing_started_at") or record.get("started_at") or record.get("created_at")
        )
        end = parse_time(record.get("stopped_at"))
        if not ip or start is None or end is None:
            return empty_fields("the task's address or start and stop times are not known")
        try:
            found, truncated = self._read(group, str(ip), start, end + END_SLACK)
        except Exception as exc:
            code = aws.error_code(exc)
            if code == "ResourceNotFoundException":
                return empty_fields("the DNS Firewall query log group does not exist", final=False)
            log.warning("reading blocked domains of %s failed: %r", record.get("run_id"), exc)
            reason = f"the query log could not be read ({code or type(exc).__name__})"
            return empty_fields(reason, final=False)
        out: dict[str, Any] = {key: sorted(names)[:MAX_NAMES] for key, names in found.items()}
        out["blocked_domains_truncated"] = truncated or any(
            len(n) > MAX_NAMES for n in found.values()
        )
        out["blocked_domains_error"] = None
        out["blocked_domains_read_at"] = now_iso()
        return out

    def _read(self, group: str, ip: str, start: Any, end: Any) -> tuple[dict[str, set[str]], bool]:
        found: dict[str, set[str]] = {key: set() for key in ACTIONS.values()}
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "startTime": int(start.timestamp() * 1000),
            "endTime": int(end.timestamp() * 1000),
            "filterPattern": filter_pattern(ip),
            "limit": PAGE_EVENTS,
        }
        for _ in range(MAX_PAGES):
            resp = self.api.filter_log_events(**kwargs)
            for event in resp.get("events") or []:
                hit = _match(str(event.get("message", "")), ip, start, end)
                if hit and len(found[hit[0]]) <= MAX_NAMES:
                    found[hit[0]].add(hit[1])
            token = resp.get("nextToken")
            if not token:
                return found, False
            kwargs["nextToken"] = token
        return found, True  # pages left unread


def _match(message: str, ip: str, start: Any, end: Any) -> tuple[str, str] | None:
    """(field, name) for a BLOCK/ALERT record of ``ip`` inside the window, else None."""
    try:
        record = json.loads(message)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("srcaddr") != ip:
        return None
    field = ACTIONS.get(str(record.get("firewall_rule_action")))
    name = record.get("query_name")
    if field is None or not isinstance(name, str) or not name.strip(". "):
        return None
    when = parse_time(str(record.get("query_timestamp") or ""))
    if when is not None and not start <= when <= end:
        return None
    return field, normalize(name)[:253]
