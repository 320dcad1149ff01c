"""Shared helpers of the control API tests: the moto environment's shape, the JWKS server's
keys, and ECS events as AWS delivers them.

Plain values and builders only (the fixtures that create them stay in
``tests/chalice_api/conftest.py``), so test modules import them from here instead of from
another test module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolchain.paths import PROJECT_ROOT

APP_DIR = PROJECT_ROOT / "chalice_api"
# The control Lambda's deployment zip (docs/ARCHITECTURE.md §9): 4.6 MB of it is cryptography's
# unstripped _rust.abi3.so; detect-secrets with PyYAML and requests (which it imports) adds
# 1.6 MB. Lambda takes a 50 MB zip; unzipping 7 MiB stays cheap.
ZIP_BUDGET_BYTES = 7 * 1024 * 1024
ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "cloudagent-api"
SUBJECT = "repo:acme/agents:environment:prod"
# What a job of run-agent.yml on the default branch carries (OIDC_REF, OIDC_JOB_WORKFLOW_REFS).
REF = "refs/heads/main"
JOB_WORKFLOW_REF = "acme/agents/.github/workflows/run-agent.yml@refs/heads/main"
KID = "test-key-1"
REGION = "us-east-1"
CONTAINER = "agent"
ARTIFACT_BUCKET = "cloudagent-test-artifacts-123456789012-us-east-1"
# What a session's task runs as (EXEC_TASK_ROLE_ARN, RunTask's overrides.taskRoleArn).
EXEC_ROLE_ARN = "arn:aws:iam::123456789012:role/cloudagent-test-agent-exec"


@dataclass
class Jwks:
    """The JWKS server and the keys behind it."""

    url: str
    private_key: Any
    other_key: Any
    hits: list[float] = field(default_factory=list)


@dataclass
class Env:
    """What the api_env fixture built in moto."""

    table: str
    cluster_arn: str
    # provider -> task definition ARN without revision (TASK_DEFINITION_ARNS)
    task_definition_arns: dict[str, str]
    log_group: str
    subnets: list[str]
    security_groups: list[str]
    secret_arns: dict[str, str]
    env: dict[str, str]


def task_event(
    env: Env,
    run_id: str,
    task_arn: str,
    last_status: str,
    *,
    exit_code: int | None = None,
    stopped_reason: str | None = None,
    started_at: str | None = "2025-01-01T10:00:10.000Z",
    pull_started_at: str | None = "2025-01-01T10:00:00.000Z",
    stopped_at: str | None = None,
    private_ip: str | None = None,
    stop_code: str = "EssentialContainerExited",
) -> dict[str, Any]:
    """An EventBridge "ECS Task State Change" event as AWS delivers it (with the task's ENI
    attachment when ``private_ip`` is given)."""
    detail: dict[str, Any] = {
        "clusterArn": env.cluster_arn,
        "taskArn": task_arn,
        "startedBy": run_id,
        "lastStatus": last_status,
        "desiredStatus": "STOPPED" if last_status == "STOPPED" else "RUNNING",
        "containers": [{"name": CONTAINER, "lastStatus": last_status}],
    }
    if private_ip:
        detail["attachments"] = [
            {
                "id": "2b8c0f4e-0000-0000-0000-000000000000",
                "type": "eni",
                "status": "DELETED" if last_status == "STOPPED" else "ATTACHED",
                "details": [
                    {"name": "subnetId", "value": env.subnets[0]},
                    {"name": "networkInterfaceId", "value": "eni-0123456789abcdef0"},
                    {"name": "privateIPv4Address", "value": private_ip},
                ],
            }
        ]
    if started_at:
        detail["startedAt"] = started_at
    if pull_started_at:
        detail["pullStartedAt"] = pull_started_at
    if last_status == "STOPPED":
        detail["stoppedAt"] = stopped_at or "2025-01-01T10:10:10.000Z"
        detail["stoppedReason"] = stopped_reason or "Essential container in task exited"
        detail["stopCode"] = stop_code
        if exit_code is not None:
            detail["containers"][0]["exitCode"] = exit_code
    return {
        "version": "0",
        "id": "0b6f0d3c-0000-0000-0000-000000000000",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": "123456789012",
        "time": "2025-01-01T10:00:00Z",
        "region": REGION,
        "resources": [task_arn],
        "detail": detail,
    }
