"""Per-run egress claims as items of the run table, one per run and name, and how the DNS
Firewall run list is brought back to them: a release retried with growing pauses, the reaper
reconciling whatever a release left behind, and claims of the old single item still counted
until the reaper moves them.

moto stands in for DynamoDB (it enforces the 400 KB item limit), tests/support/fake_resolver.py
for the domain list.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.core import aws
from chalicelib.persistence import egress_claims, store
from chalicelib.runs import egress

from tests.support.control_api import Env
from tests.support.egress_runs import claims, listed, stop
from tests.support.fake_resolver import FakeFirewallDomainLists

VALID = {"prompt": "Install the package", "provider": "openai", "model": "gpt-5"}
ITEM_LIMIT_BYTES = 400 * 1024  # DynamoDB's maximum item size
MAX_NAMES, MAX_NAME_CHARS = 20, 253  # a run's most names, each at most this long


def post(client: Any, headers: dict[str, str], names: list[str]) -> str:
    body = json.dumps({**VALID, "egress_domains": names}).encode()
    resp = client.http.post("/v1/runs", headers=headers, body=body)
    assert resp.status_code == 202, resp.body
    return resp.json_body["run_id"]


def longest_names(run: int) -> list[str]:
    """A run's 20 names, each of DNS's 253 characters (the most a run may ask for)."""
    out = []
    for n in range(MAX_NAMES):
        tail = f".r{run}n{n}.corp.example.org"
        out.append(("a" * 63 + ".") * 3 + "b" * (MAX_NAME_CHARS - 192 - len(tail)) + tail)
    assert all(len(name) == MAX_NAME_CHARS for name in out)
    return out


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item of strings and numbers: names plus values, in UTF-8."""
    return sum(len(k.encode()) + len(next(iter(v.values())).encode()) for k, v in item.items())


def old_claim(db: Any, table: str, run_id: str, names: list[str]) -> None:
    """What the single claims item did for each run (the design this replaces)."""
    db.update_item(
        TableName=table,
        Key=egress_claims.LEGACY_KEY,
        UpdateExpression="SET #runs = if_not_exists(#runs, :empty)",
        ExpressionAttributeNames={"#runs": "runs"},
        ExpressionAttributeValues={":empty": {"M": {}}},
    )
    db.update_item(
        TableName=table,
        Key=egress_claims.LEGACY_KEY,
        UpdateExpression="SET #runs.#run = :names",
        ExpressionAttributeNames={"#runs": "runs", "#run": run_id},
        ExpressionAttributeValues={":names": {"L": [{"S": d} for d in names]}},
    )


def test_150_runs_claims_fit_where_one_item_of_every_claim_could_not(
    api_env: Env, firewall: FakeFirewallDomainLists, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.runs.deployment import current as service

    runs = {f"run_{i:026d}": longest_names(i) for i in range(150)}
    db = aws.client("dynamodb")
    # moto deep-copies every table for each action of a transaction (minutes for 3000
    # claims); the same Puts one by one keep this test fast and write the same items.
    monkeypatch.setattr(
        db,
        "transact_write_items",
        lambda TransactItems: [db.put_item(**a["Put"]) for a in TransactItems],
    )
    # The old design: one item for every claim. DynamoDB refuses it long before 150 runs.
    with pytest.raises(Exception, match="Item size") as refused:
        for run_id, names in runs.items():
            old_claim(db, api_env.table, run_id, names)
    assert aws.error_code(refused.value) == "ValidationException"
    db.delete_item(TableName=api_env.table, Key=egress_claims.LEGACY_KEY)

    lists = service().egress
    for run_id, names in runs.items():
        lists.open_for_run(run_id, tuple(names))
    assert {run_id: sorted(names) for run_id, names in claims(api_env).items()} == {
        run_id: sorted(names) for run_id, names in runs.items()
    }
    every_name = {name for names in runs.values() for name in names}
    assert listed(firewall) == every_name and len(every_name) == 3000
    items = db.query(
        TableName=api_env.table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": egress_claims.PARTITION}},
        ConsistentRead=True,
        Limit=50,
    )["Items"]
    assert items and max(item_bytes(i) for i in items) < 1024  # whatever the number of runs

    first, second = list(runs)[:2]
    assert lists.release(first) and lists.release(first) is False  # a repeat: nothing more
    assert set(claims(api_env)) == set(runs) - {first}
    assert listed(firewall) == every_name - set(runs[first])
    assert runs[second][0] in listed(firewall)


def test_a_removal_that_fails_twice_is_tried_again_and_succeeds(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(egress, "sleep", pauses.append)
    run_id = post(client, headers, ["pypi.example.com"])
    firewall.errors["UpdateFirewallDomains"] = ["AccessDeniedException", "InternalFailure"]
    stop(client, api_env, headers, run_id)
    assert listed(firewall) == set() and claims(api_env) == {}
    assert pauses == list(egress.RELEASE_PAUSES[:2])  # growing pauses between the tries
    assert [op for op, _ in firewall.updates()] == ["ADD", "REMOVE", "REMOVE", "REMOVE"]


def test_the_reaper_reconciles_a_removal_that_kept_failing(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    firewall: FakeFirewallDomainLists,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.runs.deployment import current as service

    monkeypatch.setattr(egress, "sleep", lambda _: None)
    done = post(client, headers, ["pypi.example.com", "a.corp.example.org"])
    running = post(client, headers, ["a.corp.example.org", "b.corp.example.org"])
    tries = len(egress.RELEASE_PAUSES) + 1
    firewall.errors["UpdateFirewallDomains"] = ["AccessDeniedException"] * tries
    stop(client, api_env, headers, done)
    assert store.Store(api_env.table).get_run(done)["status"] == "STOPPED"  # the stop stands
    assert "pypi.example.com" in listed(firewall)  # still open: every try failed
    assert claims(api_env) == {running: ["a.corp.example.org", "b.corp.example.org"]}

    out = service().reap()
    assert out["egress"] == {"dropped_claims": [], "removed": ["pypi.example.com"], "added": []}
    assert listed(firewall) == {"a.corp.example.org", "b.corp.example.org"}
    listed(firewall).discard("b.corp.example.org")  # and a name the list lost comes back
    assert service().reap()["egress"]["added"] == ["b.corp.example.org"]


def test_claims_of_the_old_single_item_count_until_the_reaper_moves_them(
    client: Any, headers: dict[str, str], api_env: Env, firewall: FakeFirewallDomainLists
) -> None:
    """A deployment upgraded while runs were active: their claims in the old item keep their
    names open through another run's release; the reaper moves the active ones into claim
    items and drops the finished ones."""
    from chalicelib.runs.deployment import current as service

    active = post(client, headers, ["c.corp.example.org"])
    finished = post(client, headers, ["d.corp.example.org"])
    db = aws.client("dynamodb")
    for run_id, names in ((active, ["c.corp.example.org"]), (finished, ["d.corp.example.org"])):
        # As the old version wrote them: in the single item only.
        assert egress_claims.unclaim(db, api_env.table, run_id)
        old_claim(db, api_env.table, run_id, names)
    store.Store(api_env.table).transition(finished, "STOPPED", {"stopped_at": "2025-01-01T10:00Z"})

    other = post(client, headers, ["pypi.example.com"])
    stop(client, api_env, headers, other)
    assert listed(firewall) == {"c.corp.example.org", "d.corp.example.org"}

    out = service().reap()["egress"]
    assert out == {"dropped_claims": [finished], "removed": ["d.corp.example.org"], "added": []}
    assert listed(firewall) == {"c.corp.example.org"}
    assert claims(api_env) == {active: ["c.corp.example.org"]}
    legacy = db.get_item(TableName=api_env.table, Key=egress_claims.LEGACY_KEY)["Item"]
    assert "runs" not in legacy and int(legacy["expires_at"]["N"]) > 0  # the TTL deletes it
