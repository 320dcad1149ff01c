"""The run service: the one object the handlers in ``app.py`` and the admin function call.

It owns the deployment's collaborators - the table (``Store``), the cluster (``Ecs``) and the
agent log group (``LogReader``) - and hands the same instances to the parts that do the work,
so every part sees one client per service and tests can stub one place:

* ``runs.py``        create (record + slot first, then RunTask), replay, stop, stop all
* ``run_reads.py``   the public view, list, events, patch
* ``task_state.py``  ECS Task State Change events and the result read at stop
* ``reaper.py``      the scheduled backstop

The run record is the source of truth; see ``store.py`` for how it stays consistent.
"""

from __future__ import annotations

from typing import Any

from .config import ApiConfig
from .ecs import Ecs
from .logs import LogReader
from .reaper import Reaper
from .run_reads import RunReads
from .runs import RunLifecycle
from .store import Store
from .task_state import TaskStateHandler
from .validation import RunRequest


class RunService:
    """Operations on runs for one deployment (config + table + cluster + log group)."""

    def __init__(
        self,
        settings: ApiConfig,
        store: Store | None = None,
        ecs: Ecs | None = None,
        logs: LogReader | None = None,
    ):
        self.settings = settings
        self.store = store or Store(settings.table_name)
        self.ecs = ecs or Ecs(settings)
        self.logs = logs or LogReader(settings.log_group_name)
        self.lifecycle = RunLifecycle(settings, self.store, self.ecs)
        self.reads = RunReads(settings, self.store, self.logs)
        self.task_state = TaskStateHandler(settings, self.store, self.logs, self.lifecycle.capacity)
        self.reaper = Reaper(settings, self.store, self.ecs, self.task_state)

    # -- routes ----------------------------------------------------------------------------

    def create(
        self, subject: str, req: RunRequest, idempotency_key: str | None, interactive: bool
    ) -> tuple[dict[str, Any], bool]:
        """Create a run or session; returns (response body, replayed?)."""
        return self.lifecycle.create(subject, req, idempotency_key, interactive)

    def stop(self, run_id: str, requested_by: str) -> dict[str, Any]:
        """Ask ECS to stop the run's task; the ECS event later records STOPPED."""
        return self.lifecycle.stop(run_id, requested_by)

    def view(self, record: dict[str, Any], *, with_prompt: bool = True) -> dict[str, Any]:
        """The public shape of a run record (what GET returns)."""
        return self.reads.view(record, with_prompt=with_prompt)

    def get(self, run_id: str) -> dict[str, Any]:
        """One run, or 404."""
        return self.reads.get(run_id)

    def list(self, limit: int, start: dict[str, str] | None) -> dict[str, Any]:
        """A page of runs, newest first."""
        return self.reads.list(limit, start)

    def events(self, run_id: str, token: str | None, limit: int) -> dict[str, Any]:
        """A page of the run's agent log events."""
        return self.reads.events(run_id, token, limit)

    def patch(self, run_id: str) -> tuple[str, dict[str, Any]]:
        """The run's assembled patch and its metadata."""
        return self.reads.patch(run_id)

    # -- events, schedule, admin -----------------------------------------------------------

    def handle_task_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Apply one ECS Task State Change event; safe under repeats and reordering."""
        return self.task_state.handle_task_event(event)

    def apply_task_state(self, task: dict[str, Any]) -> dict[str, Any]:
        """Record a task's state (from an event detail or DescribeTasks) on its run."""
        return self.task_state.apply_task_state(task)

    def store_result(
        self, run_id: str, record: dict[str, Any], task_arn: str | None = None
    ) -> str | None:
        """Read and store the run's result; returns the error, or None once stored."""
        return self.task_state.store_result(run_id, record, task_arn)

    def reap(self, now: float | None = None) -> dict[str, Any]:
        """Stop tasks past their cap + grace, and reconcile records whose events were lost."""
        return self.reaper.reap(now)

    def stop_all(self, requested_by: str) -> dict[str, Any]:
        """Stop every running task of this cluster that has a run record in the table."""
        return self.lifecycle.stop_all(requested_by)
