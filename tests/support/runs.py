"""Calls the control API tests make about runs: read one, count the active ones, deliver an
ECS task state change to the deployed `task_state` handler.

Imported by ``tests/chalice_api`` modules only (``chalicelib`` is importable there).
"""

from __future__ import annotations

from typing import Any

from chalicelib.persistence import store

from tests.support.control_api import Env


def get_run(client: Any, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    return client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body


def active(api_env: Env) -> int:
    return store.Store(api_env.table).active_count()


def emit(client: Any, event: dict[str, Any]) -> dict[str, Any]:
    return client.lambda_.invoke("task_state", event).payload
