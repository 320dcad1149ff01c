"""Helpers for the end-to-end test: an HTTP client for the local API and waits on a run.

The test itself is `tests/e2e/test_embedded_aws.py` (one deployment per session, shared with the
embedded-AWS checks). Agents run for real there: `make up`'s local task runner starts each
task the API starts on moto, with the fake model.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.pi_runtime import MODEL

__all__ = ["MODEL", "Response", "all_events", "bare_repository", "call", "wait_for"]


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
    """One request; JSON bodies are parsed, others returned as text; errors are returned."""
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
    lowered = {k.lower(): v for k, v in got.items()}
    if "json" in lowered.get("content-type", "json"):
        return Response(status, lowered, json.loads(raw or b"null"))
    return Response(status, lowered, raw.decode())


def wait_for(
    api_url: str, token: str, run_id: str, statuses: set[str], timeout: float = 60
) -> dict[str, Any]:
    """Poll GET /v1/runs/{id} until its status is one of `statuses` (and, once STOPPED, until
    its result was read); the record."""
    deadline = time.monotonic() + timeout
    while True:
        run = call("GET", f"{api_url}/v1/runs/{run_id}", token=token).body
        settled = run["status"] != "STOPPED" or run.get("result") or run.get("result_error")
        if run["status"] in statuses and settled:
            return run
        assert time.monotonic() < deadline, f"{run_id} is {run['status']}, wanted {statuses}"
        time.sleep(0.25)


def all_events(api_url: str, token: str, run_id: str) -> list[dict[str, Any]]:
    """Every event of the run's log stream, page by page."""
    events: list[dict[str, Any]] = []
    query = ""
    while True:
        page = call("GET", f"{api_url}/v1/runs/{run_id}/events{query}", token=token).body
        events += page["events"]
        if page["end_of_stream"] or not page["next_token"]:
            return events
        query = "?next_token=" + urllib.request.quote(page["next_token"])


def bare_repository(path: Path, files: dict[str, str]) -> str:
    """A bare repository at `path` with one commit of `files`; its commit id."""
    work = path.with_suffix(".work")
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for name, text in files.items():
        (work / name).write_text(text)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "initial"], check=True)
    subprocess.run(["rm", "-rf", str(path)], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(path)], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    subprocess.run(["rm", "-rf", str(work)], check=True)
    return head.stdout.strip()
