"""Helpers for the end-to-end test: an HTTP client for the local API, the ECS task as the API
left it, the ECS Task State Change event EventBridge would send for it, and the agent container
run locally with exactly the environment ECS would give it.

The test itself is `tests/e2e/test_embedded_aws.py` (one deployment per session, shared with the
embedded-AWS checks). The container step reuses `tests/image/` (Node 24 and the locked pi from
npm, the fake OpenAI Responses server) rather than copying it.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.fake_model import FakeOpenAI
from devtools.pi_runtime import ENTRYPOINT, MODEL, Runtime

__all__ = ["ENTRYPOINT", "MODEL", "FakeOpenAI", "Response", "call", "run_container"]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One JSON request; HTTP errors are returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), dict(error.headers)
    return Response(status, {k.lower(): v for k, v in got.items()}, json.loads(raw or b"null"))


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def stopped_event(task: dict[str, Any], container: str, exit_code: int) -> dict[str, Any]:
    """The "ECS Task State Change" event EventBridge delivers when `task` has stopped.

    Built from DescribeTasks output (what ECS knows about the task) with the container's exit
    code - the shape AWS documents for ECS events on EventBridge.
    """
    now = _iso(datetime.now(UTC))
    detail = {
        "clusterArn": task["clusterArn"],
        "taskArn": task["taskArn"],
        "taskDefinitionArn": task["taskDefinitionArn"],
        "startedBy": task["startedBy"],
        "group": task.get("group", "family:cloudagent"),
        "launchType": "FARGATE",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "createdAt": _iso(task.get("createdAt")) or now,
        "pullStartedAt": _iso(task.get("createdAt")) or now,
        "startedAt": _iso(task.get("startedAt") or task.get("createdAt")) or now,
        "stoppingAt": now,
        "stoppedAt": now,
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "overrides": task.get("overrides", {}),
        "containers": [
            {
                "name": container,
                "taskArn": task["taskArn"],
                "lastStatus": "STOPPED",
                "exitCode": exit_code,
            }
        ],
        "version": 3,
    }
    return {
        "version": "0",
        "id": "e2e00000-0000-4000-8000-000000000000",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": task["taskArn"].split(":")[4],
        "time": now,
        "region": task["taskArn"].split(":")[3],
        "resources": [task["taskArn"]],
        "detail": detail,
    }


def container_environment(
    task: dict[str, Any], task_definition: dict[str, Any], secrets: Any, container: str
) -> dict[str, str]:
    """What ECS puts in the agent container's environment for `task`.

    The task definition's environment, then its `secrets` resolved from Secrets Manager (ECS
    does this at task start), then the container overrides RunTask recorded on the task.
    """
    [definition] = [c for c in task_definition["containerDefinitions"] if c["name"] == container]
    env = {e["name"]: e["value"] for e in definition.get("environment", [])}
    for secret in definition.get("secrets", []):
        value = secrets.get_secret_value(SecretId=secret["valueFrom"])["SecretString"]
        env[secret["name"]] = value
    for override in task.get("overrides", {}).get("containerOverrides", []):
        if override.get("name") == container:
            env.update({e["name"]: e["value"] for e in override.get("environment", [])})
    return env


def run_container(
    env: dict[str, str], runtime: Runtime, fake: FakeOpenAI, home: Path
) -> tuple[int, list[dict[str, Any]], str]:
    """Run image/entrypoint with `env` on this machine: (exit code, JSON events, stderr).

    What differs from the container is only where things are: Node and pi from
    `.cache/image-node/`, a temporary HOME and /workspace, and pi's `openai` provider pointed at
    the fake model server (`models.json`; its key is the one ECS injected).
    """
    agent_dir = home / "pi-agent"
    agent_dir.mkdir(parents=True)
    (agent_dir / "models.json").write_text(
        json.dumps({"providers": {"openai": {"baseUrl": fake.base_url}}})
    )
    (agent_dir / "settings.json").write_text(
        json.dumps({"retry": {"enabled": False, "provider": {"timeoutMs": 8000, "maxRetries": 0}}})
    )
    workspace = home / "workspace"
    workspace.mkdir()
    local = {
        "PATH": runtime.path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PI_CODING_AGENT_DIR": str(agent_dir),
    }
    proc = subprocess.run(
        [str(ENTRYPOINT)],
        env={**env, **local},
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, events, proc.stderr
