"""What the DNS Firewall blocked for a run: read at stop from a real (moto) query-log group.

The lines written here have the fields of Route 53 Resolver query logs; only this task's
address, inside its start/stop window, with action BLOCK (or ALERT: would have been blocked)
counts. moto ignores JSON filter patterns (it returns every event), so these tests also prove
the records are checked again on read.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalicelib.cloud import blocked
from chalicelib.core import aws
from chalicelib.persistence import store

from tests.chalice_api.conftest import QUERY_LOG_GROUP
from tests.support.control_api import Env, task_event
from tests.support.fake_resolver import FakeFirewallDomainLists

VALID = {"prompt": "Fetch the data", "provider": "openai", "model": "gpt-5"}
IP = "10.0.1.23"
NOW = datetime.now(UTC).replace(microsecond=0)
STARTED = NOW - timedelta(minutes=20)
STOPPED = NOW - timedelta(minutes=10)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def query(
    name: str, action: str | None, *, at: datetime, ip: str = IP, stream: str = "vpc-1"
) -> None:
    """One query-log record as Route 53 Resolver writes it to CloudWatch Logs."""
    record: dict[str, Any] = {
        "version": "1.100000",
        "account_id": "123456789012",
        "region": "us-east-1",
        "vpc_id": "vpc-0example",
        "query_timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "query_name": name,
        "query_type": "A",
        "query_class": "IN",
        "rcode": "NXDOMAIN" if action == "BLOCK" else "NOERROR",
        "answers": [],
        "srcaddr": ip,
        "srcport": "45123",
        "transport": "UDP",
        "srcids": {"instance": "i-0example"},
    }
    if action:
        record.update(
            firewall_rule_action=action,
            firewall_rule_group_id="rslvr-frg-0example",
            firewall_domain_list_id="rslvr-fdl-0example",
        )
    logs = aws.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=QUERY_LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=QUERY_LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": int(at.timestamp() * 1000), "message": json.dumps(record)}],
    )


def run_to_stop(client: Any, headers: dict[str, str], api_env: Env) -> str:
    """A run whose task ran from STARTED to STOPPED at IP (events as ECS sends them)."""
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(VALID).encode())
    run_id = resp.json_body["run_id"]
    arn = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["task_arn"]
    times = {"started_at": iso(STARTED), "pull_started_at": iso(STARTED)}
    running = task_event(api_env, run_id, arn, "RUNNING", private_ip=IP, **times)
    client.lambda_.invoke("task_state", running)
    return run_id


def stop(
    client: Any, api_env: Env, run_id: str, headers: dict[str, str], at: datetime = STOPPED
) -> dict[str, Any]:
    arn = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["task_arn"]
    times = {"started_at": iso(STARTED), "pull_started_at": iso(STARTED), "stopped_at": iso(at)}
    event = task_event(api_env, run_id, arn, "STOPPED", exit_code=0, **times)
    out = client.lambda_.invoke("task_state", event).payload
    assert out["status"] == "STOPPED" and out["released_slot"] is True
    return client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body


def test_only_this_tasks_blocked_and_alerted_names_in_its_window(
    client: Any, headers: dict[str, str], api_env: Env, firewall: FakeFirewallDomainLists
) -> None:
    run_id = run_to_stop(client, headers, api_env)
    during = STARTED + timedelta(minutes=5)
    query("evil.example.net.", "BLOCK", at=during)
    query("Evil.Example.NET.", "BLOCK", at=during + timedelta(seconds=1), stream="vpc-2")
    query("exfil.example.org.", "BLOCK", at=STOPPED)
    query("maybe.example.com.", "ALERT", at=during)
    query("api.openai.com.", "ALLOW", at=during)
    query("plain.example.com.", None, at=during)
    query("neighbour.example.net.", "BLOCK", at=during, ip="10.0.1.99")
    query("before.example.net.", "BLOCK", at=STARTED - timedelta(minutes=1))
    query("after.example.net.", "BLOCK", at=STOPPED + timedelta(minutes=1))
    run = stop(client, api_env, run_id, headers)
    assert run["blocked_domains"] == ["evil.example.net", "exfil.example.org"]
    assert run["alerted_domains"] == ["maybe.example.com"]
    assert run["blocked_domains_truncated"] is False
    assert run["blocked_domains_error"] is None
    listed = client.http.get("/v1/runs", headers=headers).json_body["runs"][0]
    assert "blocked_domains" not in listed and listed["blocked_domains_truncated"] is False


def test_names_are_capped(
    client: Any, headers: dict[str, str], api_env: Env, firewall: FakeFirewallDomainLists
) -> None:
    run_id = run_to_stop(client, headers, api_env)
    for i in range(blocked.MAX_NAMES + 5):
        query(f"h{i:03d}.example.net.", "BLOCK", at=STARTED + timedelta(seconds=i))
    run = stop(client, api_env, run_id, headers)
    assert len(run["blocked_domains"]) == blocked.MAX_NAMES
    assert run["blocked_domains_truncated"] is True


def test_reading_is_bounded(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most MAX_PAGES pages are read; names on pages left unread set the flag."""
    monkeypatch.setattr(blocked, "PAGE_EVENTS", 2)
    monkeypatch.setattr(blocked, "MAX_PAGES", 2)
    run_id = run_to_stop(client, headers, api_env)
    for i in range(5):
        query(f"n{i}.example.net.", "BLOCK", at=STARTED + timedelta(seconds=i))
    run = stop(client, api_env, run_id, headers)
    assert run["blocked_domains"] == [f"n{i}.example.net" for i in range(4)]
    assert run["blocked_domains_truncated"] is True


def test_an_unreadable_log_does_not_stop_the_run_from_finalizing(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from botocore.exceptions import ClientError

    run_id = run_to_stop(client, headers, api_env)

    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "FilterLogEvents")

    monkeypatch.setattr(aws.client("logs"), "filter_log_events", denied)
    run = stop(client, api_env, run_id, headers)
    assert run["status"] == "STOPPED" and run["exit_code"] == 0
    assert run["blocked_domains"] is None and run["alerted_domains"] is None
    assert run["blocked_domains_error"] == "the query log could not be read (AccessDeniedException)"
    assert store.Store(api_env.table).active_count() == 0


def test_a_missing_log_group_is_named(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
) -> None:
    run_id = run_to_stop(client, headers, api_env)
    aws.client("logs").delete_log_group(logGroupName=QUERY_LOG_GROUP)
    run = stop(client, api_env, run_id, headers)
    assert run["status"] == "STOPPED" and run["blocked_domains"] is None
    assert run["blocked_domains_error"] == "the DNS Firewall query log group does not exist"


def test_without_a_firewall_the_lists_are_null(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    run = stop(client, api_env, run_to_stop(client, headers, api_env), headers)
    assert run["blocked_domains"] is None
    assert run["blocked_domains_error"] == "egress_mode is off: there is no DNS Firewall query log"


def test_the_first_address_seen_is_kept(
    client: Any, headers: dict[str, str], api_env: Env, firewall: FakeFirewallDomainLists
) -> None:
    """An address is the task's for its whole life; a later event cannot move the window to
    another task's address."""
    run_id = run_to_stop(client, headers, api_env)
    arn = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["task_arn"]
    query("mine.example.net.", "BLOCK", at=STARTED + timedelta(minutes=1))
    query("theirs.example.net.", "BLOCK", at=STARTED + timedelta(minutes=1), ip="10.0.1.77")
    times = {
        "started_at": iso(STARTED),
        "pull_started_at": iso(STARTED),
        "stopped_at": iso(STOPPED),
    }
    event = task_event(api_env, run_id, arn, "STOPPED", private_ip="10.0.1.77", **times)
    client.lambda_.invoke("task_state", event)
    run = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert run["blocked_domains"] == ["mine.example.net"]


def test_the_reaper_reads_late_records_once(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.runs.deployment import current as service

    just_now = datetime.now(UTC) - timedelta(seconds=30)
    run_id = run_to_stop(client, headers, api_env)
    query("early.example.net.", "BLOCK", at=STARTED + timedelta(minutes=1))
    run = stop(client, api_env, run_id, headers, at=just_now)
    assert run["blocked_domains"] == ["early.example.net"]
    # A record of the run's last seconds that reached the log group after the stop.
    query("late.example.net.", "BLOCK", at=just_now - timedelta(seconds=2))
    service().reap(now=time.time() + 60)  # too early for a final read: nothing changes
    run = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert run["blocked_domains"] == ["early.example.net"]
    # Ten minutes after the stop (the reaper's clock and the read's): read once more.
    monkeypatch.setattr(blocked, "now_iso", lambda: iso(just_now + timedelta(minutes=10)))
    service().reap(now=time.time() + 600)
    run = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert run["blocked_domains"] == ["early.example.net", "late.example.net"]
    query("later.example.net.", "BLOCK", at=just_now - timedelta(seconds=1))
    service().reap(now=time.time() + 900)
    assert client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["blocked_domains"] == [
        "early.example.net",
        "late.example.net",
    ]


def test_task_private_ip() -> None:
    details = [{"name": "subnetId", "value": "s"}, {"name": "privateIPv4Address", "value": IP}]
    assert blocked.task_private_ip({"attachments": [{"details": details}]}) == IP
    bad = [{"name": "privateIPv4Address", "value": "10.0.1.23; drop"}]
    assert blocked.task_private_ip({"attachments": [{"details": bad}]}) is None
    assert blocked.task_private_ip({"attachments": "x"}) is None
    assert blocked.task_private_ip({}) is None
