"""Helpers of the control API's egress tests: stop a run through its task event, read the
claims the table holds, and the names the DNS Firewall run list holds."""

from __future__ import annotations

from typing import Any

from chalicelib.core import aws
from chalicelib.persistence import egress_claims

from tests.chalice_api.conftest import RUN_DOMAIN_LIST_ID
from tests.support.control_api import Env, task_event
from tests.support.fake_resolver import FakeFirewallDomainLists


def stop(client: Any, api_env: Env, headers: dict[str, str], run_id: str) -> None:
    """The run's task stops (exit 0), as ECS's task-state event reports it."""
    arn = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["task_arn"]
    event = task_event(api_env, run_id, arn, "STOPPED", exit_code=0)
    assert client.lambda_.invoke("task_state", event).payload["status"] == "STOPPED"


def claims(api_env: Env) -> dict[str, list[str]]:
    """run id -> the names it still claims."""
    return egress_claims.claims(aws.client("dynamodb"), api_env.table)


def listed(fake: FakeFirewallDomainLists) -> set[str]:
    return fake.lists[RUN_DOMAIN_LIST_ID]
