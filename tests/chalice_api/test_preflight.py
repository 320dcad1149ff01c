"""The admin action ``preflight``: Fargate vCPU quotas, this cluster's usage, runs that fit.

moto's Service Quotas knows only the ``vpc`` service (``moto/servicequotas/models.py``), so
``fargate_quotas`` teaches its backend the two Fargate quotas - the request still goes through
boto3 and moto's Service Quotas API; the tasks counted are moto's, started through the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalicelib.cloud import preflight
from chalicelib.core import config as cfg

from tests.support.control_api import Env

VALID = {"prompt": "Write a haiku", "provider": "openai", "model": "gpt-5"}


@pytest.fixture
def fargate_quotas(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, float]]:
    """quota code -> value, answered by moto's Service Quotas backend for service fargate."""
    from moto.servicequotas.models import ServiceQuotasBackend

    values: dict[str, float] = {}
    real = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code == "fargate" and quota_code in values:
            return {
                "ServiceCode": "fargate",
                "QuotaCode": quota_code,
                "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:fargate/{quota_code}",
                "Value": values[quota_code],
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        return real(self, service_code, quota_code)

    monkeypatch.setattr(ServiceQuotasBackend, "get_service_quota", get_service_quota)
    yield values


def invoke(client: Any) -> dict[str, Any]:
    return client.lambda_.invoke("admin", {"action": "preflight"}).payload


def start_runs(client: Any, headers: dict[str, str], n: int) -> None:
    for _ in range(n):
        resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(VALID).encode())
        assert resp.status_code == 202 and resp.json_body["status"] == "STARTING"


def test_small_on_demand_quota_is_warned_about(
    client: Any, headers: dict[str, str], fargate_quotas: dict[str, float]
) -> None:
    fargate_quotas.update({"L-3032A538": 64.0, "L-36FBB829": 4000.0})
    start_runs(client, headers, 1)
    out = invoke(client)
    assert out["ok"] is True and out["capacity"] == "on-demand"
    assert out["max_concurrent_runs"] == 5 and out["task_vcpu"] == 16
    assert out["on_demand"] == {
        "quota_code": "L-3032A538",
        "quota_vcpu": 64.0,
        "used_vcpu": 16.0,
        "runs_fit": 4,
        "runs_fit_now": 3,
    }
    assert out["spot"]["runs_fit"] == 250 and out["spot"]["used_vcpu"] == 0
    [warning] = out["warnings"]
    assert "L-3032A538" in warning and "4 concurrent runs" in warning and "80 vCPU" in warning
    assert "this deployment's cluster only" in out["used_vcpu_counts"]


def test_spot_usage_counts_against_the_spot_quota(
    client: Any,
    headers: dict[str, str],
    fargate_quotas: dict[str, float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAPACITY", "spot-then-on-demand")
    cfg.reset()
    fargate_quotas.update({"L-3032A538": 4000.0, "L-36FBB829": 32.0})
    start_runs(client, headers, 2)
    out = invoke(client)
    assert out["spot"]["used_vcpu"] == 32 and out["spot"]["runs_fit_now"] == 0
    assert out["on_demand"]["used_vcpu"] == 0
    # Both quotas matter with the fall back; only the Spot one is too small.
    [warning] = out["warnings"]
    assert "Fargate Spot vCPU" in warning and "L-36FBB829" in warning


def test_enough_quota_means_no_warning(client: Any, fargate_quotas: dict[str, float]) -> None:
    fargate_quotas.update({"L-3032A538": 80.0, "L-36FBB829": 0.0})
    out = invoke(client)
    assert out["on_demand"]["runs_fit"] == 5 and out["warnings"] == []  # Spot is not used


def test_unreadable_quota_is_reported_not_raised(client: Any, fargate_quotas: dict) -> None:
    out = invoke(client)  # moto answers NoSuchResourceException for both
    assert out["ok"] is True and out["on_demand"]["quota_vcpu"] is None
    assert out["on_demand"]["runs_fit"] is None
    [warning] = out["warnings"]
    assert "could not be read" in warning and "NoSuchResourceException" in warning


def test_task_vcpu_is_the_task_shape() -> None:
    from stacks.shared.constants import TASK_CPU_UNITS

    assert preflight.TASK_VCPU * 1024 == TASK_CPU_UNITS


def test_quota_refusal_names_the_preflight_action(api_env: Env) -> None:
    """The 429 points at an action the admin function accepts."""
    from chalicelib.runs import admin

    assert "preflight" in admin.ACTIONS


def test_preflight_is_an_admin_action_without_fields(client: Any) -> None:
    out = client.lambda_.invoke("admin", {"action": "preflight", "extra": 1}).payload
    assert out["ok"] is False and out["error"]["code"] == "bad_request"
