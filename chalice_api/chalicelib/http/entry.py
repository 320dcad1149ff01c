"""The Lambda functions other than the REST API, as ``app.py`` wires them: each hands its
event to the runs layer."""

from __future__ import annotations

import logging
from typing import Any

from ..core import config as cfg
from ..core.errors import error_body
from ..runs import admin as admin_actions
from ..runs.deployment import current as runs

log = logging.getLogger(__name__)


def task_state(event: dict[str, Any]) -> dict[str, Any]:
    """One ECS Task State Change event applied to its run."""
    return runs().task_state.handle_task_event(event)


def reaper() -> dict[str, Any]:
    """The scheduled backstop."""
    return runs().reaper.reap()


def admin(event: Any) -> dict[str, Any]:
    """An operator action; never raises."""
    try:
        return admin_actions.handle(event, cfg.get, runs)
    except Exception:
        log.exception("admin failed")
        return {"ok": False, **error_body("internal_error", "internal error")}
