"""Per-run egress domains: checked against the setting, claimed and added to the DNS Firewall
run list before RunTask, kept while any run that asked is active, removed after the last.

Everything is moto except the domain list itself (moto has no DNS Firewall; see
tests/support/fake_resolver.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalicelib.core import aws
from chalicelib.core import config as cfg
from chalicelib.core.domains import DOMAIN_RE, covered
from chalicelib.persistence import store

from stacks.shared import setting_fields
from tests.chalice_api.conftest import RUN_DOMAIN_LIST_ID
from tests.support.control_api import Env
from tests.support.egress_runs import claims, listed, stop
from tests.support.fake_resolver import FakeFirewallDomainLists

VALID = {"prompt": "Install the package", "provider": "openai", "model": "gpt-5"}


def post(client: Any, headers: dict[str, str], path: str = "/v1/runs", **body: Any) -> Any:
    payload = {**VALID, **body} if path == "/v1/runs" else body
    return client.http.post(path, headers=headers, body=json.dumps(payload).encode())


def test_pattern_is_the_settings_pattern() -> None:
    """chalice_api may not import stacks/, so the pattern is written twice; it must agree."""
    assert DOMAIN_RE.pattern == setting_fields._DOMAIN


@pytest.mark.parametrize(
    ("name", "entry", "expected"),
    [
        ("pypi.example.com", "pypi.example.com", True),
        ("a.corp.example.org", "*.corp.example.org", True),
        ("*.x.corp.example.org", "*.corp.example.org", True),
        ("*.corp.example.org", "*.corp.example.org", True),
        ("corp.example.org", "*.corp.example.org", False),  # like DNS Firewall: below only
        ("evilcorp.example.org", "*.corp.example.org", False),
        ("x.pypi.example.com", "pypi.example.com", False),
    ],
)
def test_coverage(name: str, entry: str, expected: bool) -> None:
    assert covered(name, entry) is expected


def test_refused_when_the_setting_is_empty(
    client: Any, headers: dict[str, str], api_env: Env, run_task_calls: list
) -> None:
    resp = post(client, headers, egress_domains=["pypi.example.com"])
    assert resp.status_code == 400
    assert resp.json_body["error"]["message"] == (
        "per-run egress domains are disabled (setting egress_run_domains_allowed "
        "(EGRESS_RUN_DOMAINS_ALLOWED) is empty)"
    )
    assert run_task_calls == [] and store.Store(api_env.table).active_count() == 0


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        (["evil.example.net"], r"entry evil\.example\.net is not covered by the setting "),
        (["corp.example.org"], r"entry corp\.example\.org is not covered .*egress_run_domains"),
        (["PyPI.example.com"], r"is not a lowercase domain name"),
        (["pypi.example.com", "pypi.example.com"], r"must not repeat a name"),
        ([], r"must be a list of 1 to 20 domain names"),
        ("pypi.example.com", r"must be a list of 1 to 20 domain names"),
        ([f"h{i}.corp.example.org" for i in range(21)], r"must be a list of 1 to 20"),
    ],
)
def test_refused_names(
    client: Any,
    headers: dict[str, str],
    firewall: FakeFirewallDomainLists,
    run_task_calls: list,
    domains: Any,
    message: str,
) -> None:
    resp = post(client, headers, egress_domains=domains)
    assert resp.status_code == 400, resp.body
    assert re.search(message, resp.json_body["error"]["message"]), resp.json_body
    assert run_task_calls == [] and fake_untouched(firewall)


def fake_untouched(fake: FakeFirewallDomainLists) -> bool:
    return fake.calls == [] and listed(fake) == set()


def test_names_are_recorded_and_added_before_run_task(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Any, set[str]]] = []
    ecs = aws.client("ecs")
    real = ecs.run_task

    def spy(**kwargs: Any) -> Any:
        record = store.Store(api_env.table).get_run(kwargs["startedBy"])
        seen.append((record and record.get("egress_domains"), set(listed(firewall))))
        return real(**kwargs)

    monkeypatch.setattr(ecs, "run_task", spy)
    resp = post(client, headers, egress_domains=["x.corp.example.org", "pypi.example.com"])
    assert resp.status_code == 202, resp.body
    names = ["pypi.example.com", "x.corp.example.org"]
    assert seen == [(names, set(names))]
    assert firewall.updates() == [("ADD", names)]
    run = client.http.get(f"/v1/runs/{resp.json_body['run_id']}", headers=headers).json_body
    assert run["egress_domains"] == names


def test_a_name_stays_open_until_the_last_run_that_asked_stops(
    client: Any, headers: dict[str, str], api_env: Env, firewall: FakeFirewallDomainLists
) -> None:
    first = post(client, headers, egress_domains=["pypi.example.com", "a.corp.example.org"])
    second = post(client, headers, egress_domains=["pypi.example.com"])
    plain = post(client, headers)
    ids = [r.json_body["run_id"] for r in (first, second, plain)]
    assert listed(firewall) == {"pypi.example.com", "a.corp.example.org"}

    stop(client, api_env, headers, ids[0])
    assert listed(firewall) == {"pypi.example.com"}  # the second run still needs it
    stop(client, api_env, headers, ids[2])  # a run without names changes nothing
    assert listed(firewall) == {"pypi.example.com"}
    stop(client, api_env, headers, ids[1])
    assert listed(firewall) == set()
    assert claims(api_env) == {}

    updates = len(firewall.updates())
    stop(client, api_env, headers, ids[1])  # a repeated event: nothing more to do
    assert len(firewall.updates()) == updates
    assert [op for op, _ in firewall.updates()] == ["ADD", "ADD", "REMOVE", "REMOVE"]


def test_a_claim_made_during_a_removal_gets_its_name_back(
    client: Any, headers: dict[str, str], api_env: Env, firewall: FakeFirewallDomainLists
) -> None:
    """A run created while another's release is removing the same name (after that release
    read the claims) still ends with the name in the list: the release reads the claims again
    after removing and adds back what they need."""
    from chalicelib.runs.deployment import current as service

    first = post(client, headers, egress_domains=["pypi.example.com"]).json_body["run_id"]
    store.Store(api_env.table).transition(first, "STOPPED", {"stopped_at": "2025-01-01T10:00Z"})
    late: list[str] = []

    def racing_create(operation: str, _: dict[str, Any]) -> None:
        assert operation == "REMOVE"
        resp = post(client, headers, egress_domains=["pypi.example.com"])
        late.append(resp.json_body["run_id"])

    firewall.before_update = racing_create
    assert service().egress.release(first) is True
    assert late and listed(firewall) == {"pypi.example.com"}
    assert set(claims(api_env)) == {late[0]}


def test_a_failed_update_fails_the_run_before_any_task(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
    run_task_calls: list,
) -> None:
    firewall.errors["UpdateFirewallDomains"] = ["AccessDeniedException"]
    keyed = {**headers, "Idempotency-Key": "egress-failed"}
    resp = post(client, keyed, egress_domains=["pypi.example.com"])
    assert resp.status_code == 503
    error = resp.json_body["error"]
    assert error["code"] == "egress_unavailable"
    assert "could not be added to the DNS Firewall (AccessDeniedException)" in error["message"]
    run_id = re.search(r"run_[0-9A-Z]{26}", error["message"]).group(0)
    run = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert run["status"] == "FAILED_TO_START" and "AccessDeniedException" in run["failure_reason"]
    assert run_task_calls == []
    assert store.Store(api_env.table).active_count() == 0
    assert claims(api_env) == {} and listed(firewall) == set()
    replay = post(client, keyed, egress_domains=["pypi.example.com"])
    assert replay.status_code == 202 and replay.json_body["status"] == "FAILED_TO_START"
    assert replay.json_body["run_id"] == run_id and run_task_calls == []


def test_a_list_being_updated_is_retried(
    client: Any, headers: dict[str, str], firewall: FakeFirewallDomainLists
) -> None:
    firewall.errors["UpdateFirewallDomains"] = ["ConflictException"]
    resp = post(client, headers, egress_domains=["pypi.example.com"])
    assert resp.status_code == 202 and resp.json_body["status"] == "STARTING"
    assert listed(firewall) == {"pypi.example.com"}


def test_idempotency_covers_the_names(
    client: Any, headers: dict[str, str], firewall: FakeFirewallDomainLists
) -> None:
    keyed = {**headers, "Idempotency-Key": "egress-1"}
    first = post(client, keyed, egress_domains=["pypi.example.com", "b.corp.example.org"])
    again = post(client, keyed, egress_domains=["b.corp.example.org", "pypi.example.com"])
    assert again.status_code == 202 and again.json_body["run_id"] == first.json_body["run_id"]
    other = post(client, keyed, egress_domains=["pypi.example.com"])
    assert other.status_code == 409


def test_sessions_take_names_too(
    client: Any, headers: dict[str, str], firewall: FakeFirewallDomainLists
) -> None:
    resp = post(client, headers, "/v1/sessions", egress_domains=["c.corp.example.org"])
    assert resp.status_code == 202, resp.body
    assert listed(firewall) == {"c.corp.example.org"}


def test_the_reaper_drops_names_of_runs_whose_stop_was_missed(
    client: Any, headers: dict[str, str], api_env: Env, firewall: FakeFirewallDomainLists
) -> None:
    from chalicelib.runs.deployment import current as service

    run_id = post(client, headers, egress_domains=["pypi.example.com"]).json_body["run_id"]
    assert service().reap()["reconciled"] == [] and listed(firewall) == {"pypi.example.com"}
    # The record finished without the STOPPED event reaching the handler.
    store.Store(api_env.table).transition(run_id, "STOPPED", {"stopped_at": "2025-01-01T10:00Z"})
    out = service().reap()
    assert out["egress"] == {
        "dropped_claims": [run_id],
        "removed": ["pypi.example.com"],
        "added": [],
    }
    assert listed(firewall) == set()


def test_the_reaper_restores_a_name_an_active_run_lost(
    client: Any, headers: dict[str, str], firewall: FakeFirewallDomainLists
) -> None:
    from chalicelib.runs.deployment import current as service

    post(client, headers, egress_domains=["pypi.example.com"])
    listed(firewall).clear()  # e.g. an operator emptied the list by hand
    assert service().reap()["egress"]["added"] == ["pypi.example.com"]
    assert listed(firewall) == {"pypi.example.com"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"EGRESS_MODE": "block"}, "EGRESS_MODE must be one of enforce, observe, off"),
        (
            {"EGRESS_MODE": "observe", "EGRESS_RUN_DOMAINS_ALLOWED": "pypi.example.com"},
            "EGRESS_RUN_DOMAIN_LIST_ID is required when EGRESS_RUN_DOMAINS_ALLOWED is set",
        ),
        ({"EGRESS_RUN_DOMAINS_ALLOWED": "PyPI.org"}, "EGRESS_RUN_DOMAINS_ALLOWED must be a comma"),
        ({"EGRESS_RUN_DOMAIN_LIST_ID": "fdl/../x"}, "EGRESS_RUN_DOMAIN_LIST_ID is not a resource"),
    ],
)
def test_a_misconfigured_firewall_names_the_variable(
    api_env: Env, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.from_env({**api_env.env, **extra})


def test_the_firewall_variables_are_parsed(api_env: Env) -> None:
    parsed = cfg.from_env(
        {
            **api_env.env,
            "EGRESS_MODE": "observe",
            "EGRESS_QUERY_LOG_GROUP": "/cloudagent/test/dns",
            "EGRESS_RUN_DOMAIN_LIST_ID": RUN_DOMAIN_LIST_ID,
            "EGRESS_RUN_DOMAINS_ALLOWED": "pypi.example.com,*.corp.example.org",
        }
    )
    assert (parsed.egress_mode, parsed.egress_query_log_group) == (
        "observe",
        "/cloudagent/test/dns",
    )
    assert parsed.egress_run_domain_list_id == RUN_DOMAIN_LIST_ID
    assert parsed.egress_run_domains_allowed == ("pypi.example.com", "*.corp.example.org")
    default = cfg.from_env(api_env.env)
    assert default.egress_mode == "off" and default.egress_run_domains_allowed == ()
