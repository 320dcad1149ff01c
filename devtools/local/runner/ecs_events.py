"""The "ECS Task State Change" events EventBridge delivers, built as AWS documents them.

The local runner sends these through the deployed EventBridge rule (`lambdas.deliver`) so the
deployed `task_state` handler sees what it would see in AWS. They are built from what ECS
knows about the task (DescribeTasks on moto) plus what only the runner knows: when the
container started and how it ended.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

DETAIL_TYPE = "ECS Task State Change"
# stopCode values of ECS (API reference, Task.stopCode).
ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
USER_INITIATED = "UserInitiated"
TASK_FAILED_TO_START = "TaskFailedToStart"
EXITED_REASON = "Essential container in task exited"


def iso(value: Any = None) -> str:
    """EventBridge's timestamp form: UTC, milliseconds, `Z`."""
    moment = value if isinstance(value, datetime) else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _envelope(task: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    arn = task["taskArn"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.ecs",
        "account": arn.split(":")[4],
        "time": iso(),
        "region": arn.split(":")[3],
        "resources": [arn],
        "detail": detail,
    }


def _attachments(task: dict[str, Any], stopped: bool) -> list[dict[str, Any]]:
    """The task's ENI attachment as events carry it: type ``eni``, ``DELETED`` once stopped,
    ``details`` with ``privateIPv4Address`` (the control API reads the task's address from it
    to find the task's DNS queries; moto's DescribeTasks has the same details)."""
    return [
        {
            "id": attachment.get("id", ""),
            "type": "eni",
            "status": "DELETED" if stopped else "ATTACHED",
            "details": list(attachment.get("details") or []),
        }
        for attachment in task.get("attachments") or []
        if attachment.get("type") in ("eni", "ElasticNetworkInterface")
    ]


def _detail(task: dict[str, Any], last: str, desired: str) -> dict[str, Any]:
    created = iso(task.get("createdAt"))
    return {
        "clusterArn": task["clusterArn"],
        "taskArn": task["taskArn"],
        "taskDefinitionArn": task["taskDefinitionArn"],
        "startedBy": task.get("startedBy", ""),
        "group": task.get("group") or "",
        "launchType": task.get("launchType") or "FARGATE",
        "lastStatus": last,
        "desiredStatus": desired,
        "createdAt": created,
        "overrides": task.get("overrides", {}),
        "attachments": _attachments(task, last == "STOPPED"),
        "version": 2 if last == "RUNNING" else 3,
    }


def running_event(
    task: dict[str, Any],
    container: str,
    *,
    pull_started: str,
    started: str,
    others: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The task's containers have started: lastStatus RUNNING, with its start times.

    `others` are the task's other containers as {"name", "lastStatus"[, "exitCode"]} (a
    container that ran to completion before, such as repo-init, is STOPPED with its code).
    """
    detail = _detail(task, "RUNNING", "RUNNING")
    entry = {"name": container, "taskArn": task["taskArn"], "lastStatus": "RUNNING"}
    detail.update(
        pullStartedAt=pull_started,
        pullStoppedAt=started,
        startedAt=started,
        containers=[entry, *({"taskArn": task["taskArn"], **o} for o in others or [])],
    )
    return _envelope(task, detail)


def stopped_event(
    task: dict[str, Any],
    container: str,
    *,
    exit_code: int | None,
    stop_code: str,
    reason: str,
    started: str | None,
    pull_started: str | None = None,
    container_reason: str | None = None,
    others: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The task has stopped: the main container's exit code (None if it never ran) and why;
    `others` are the other containers' entries ({"name"[, "exitCode", "reason"]})."""
    now = iso()
    detail = _detail(task, "STOPPED", "STOPPED")
    entry: dict[str, Any] = {"name": container, "taskArn": task["taskArn"], "lastStatus": "STOPPED"}
    if exit_code is not None:
        entry["exitCode"] = exit_code
    if container_reason:
        entry["reason"] = container_reason[:255]
    detail.update(
        stoppingAt=now,
        stoppedAt=now,
        executionStoppedAt=now,
        stopCode=stop_code,
        stoppedReason=reason[:255],
        containers=[
            entry,
            *({"taskArn": task["taskArn"], "lastStatus": "STOPPED", **o} for o in others or []),
        ],
    )
    if started:
        detail["startedAt"] = started
    if pull_started:
        detail["pullStartedAt"] = pull_started
    return _envelope(task, detail)
