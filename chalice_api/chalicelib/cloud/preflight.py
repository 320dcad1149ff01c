"""The admin action ``preflight``: do the account's Fargate vCPU quotas fit the deployment?

New accounts often get Fargate vCPU quotas far below 16 x ``max_concurrent_runs``; then runs are
refused (429 ``fargate_vcpu_quota``) long before the concurrency cap. This reads both quotas
from Service Quotas (service ``fargate``: On-Demand ``L-3032A538``, Spot ``L-36FBB829``) and what
this cluster's tasks use now, and says how many runs fit.

``used_vcpu`` counts the tasks of this deployment's cluster (their task-level CPU); other Fargate
tasks and EKS pods of the account in the region draw on the same quotas and are not counted, so
``runs_fit_now`` is an upper bound. ``runs_fit`` is what the quota allows with nothing else
running - the number to compare with ``max_concurrent_runs``.
"""

from __future__ import annotations

from typing import Any

from ..core import aws
from ..core.config import ApiConfig
from .ecs import Ecs

SERVICE_CODE = "fargate"
QUOTA_CODES = {"on-demand": "L-3032A538", "spot": "L-36FBB829"}
QUOTA_NAMES = {"on-demand": "Fargate On-Demand vCPU", "spot": "Fargate Spot vCPU"}
# An agent task's vCPUs (16384 CPU units; kept equal to stacks/shared/constants.py by a test).
TASK_VCPU = 16
# The quotas each setting `capacity` draws on (Spot first, on-demand for fall backs).
USES = {
    "on-demand": ("on-demand",),
    "spot": ("spot",),
    "spot-then-on-demand": ("spot", "on-demand"),
}
USAGE_SCOPE = (
    "used_vcpu counts this deployment's cluster only; other Fargate tasks and EKS pods of the "
    "account in this region use the same quotas, so runs_fit_now is an upper bound"
)


def _quota(client: Any, capacity: str) -> tuple[float | None, str | None]:
    """(the applied quota in vCPU, or None and why not)."""
    try:
        resp = client.get_service_quota(ServiceCode=SERVICE_CODE, QuotaCode=QUOTA_CODES[capacity])
        return float(resp["Quota"]["Value"]), None
    except Exception as exc:
        return None, aws.error_code(exc) or type(exc).__name__


def _task_vcpu(task: dict[str, Any]) -> float:
    try:
        return int(task.get("cpu")) / 1024
    except (TypeError, ValueError):
        return float(TASK_VCPU)


def _used(ecs: Ecs) -> dict[str, float]:
    used = dict.fromkeys(QUOTA_CODES, 0.0)
    for task in ecs.running_tasks():
        spot = task.get("capacityProviderName") == "FARGATE_SPOT"
        used["spot" if spot else "on-demand"] += _task_vcpu(task)
    return used


def report(settings: ApiConfig, ecs: Ecs) -> dict[str, Any]:
    """Both quotas, this cluster's usage, the runs that fit, and warnings for the setting."""
    client = aws.client("service-quotas")
    used = _used(ecs)
    cap = settings.max_concurrent_runs
    out: dict[str, Any] = {
        "capacity": settings.capacity,
        "task_vcpu": TASK_VCPU,
        "max_concurrent_runs": cap,
        "used_vcpu_counts": USAGE_SCOPE,
    }
    warnings: list[str] = []
    for capacity, code in QUOTA_CODES.items():
        quota, error = _quota(client, capacity)
        entry: dict[str, Any] = {
            "quota_code": code,
            "quota_vcpu": quota,
            "used_vcpu": used[capacity],
            "runs_fit": None if quota is None else int(quota // TASK_VCPU),
            "runs_fit_now": (
                None if quota is None else max(0, int((quota - used[capacity]) // TASK_VCPU))
            ),
        }
        out[capacity.replace("-", "_")] = entry
        if capacity not in USES[settings.capacity]:
            continue
        name = QUOTA_NAMES[capacity]
        if quota is None:
            warnings.append(f"{name} quota ({code}) could not be read: {error}")
        elif entry["runs_fit"] < cap:
            warnings.append(
                f"{name} quota ({code}) is {quota:g} vCPU: {entry['runs_fit']} concurrent runs "
                f"of {TASK_VCPU} vCPU fit, but max_concurrent_runs is {cap}; request at least "
                f"{cap * TASK_VCPU} vCPU in Service Quotas (service {SERVICE_CODE}, quota "
                f"{code}) or lower max_concurrent_runs"
            )
    out["warnings"] = warnings
    return out
