"""One deployment's runs: its table, cluster and log group, wired once per container.

The handlers in ``app.py`` (via ``http/``) take the part they need from :class:`Runs` and call
it directly; every part sees the same ``Store``, ``Ecs`` and ``LogReader``, so there is one
client per service and tests can stub one place:

* ``lifecycle.py``   create (record + slot first, then RunTask), replay, stop, stop all
* ``continuation.py`` a continued run's parent, its bundle and the task's presigned URLs
* ``reads.py``       the public view, list, events, patch
* ``task_state.py``  ECS Task State Change events, the result and blocked names read at stop
* ``egress.py``      the per-run egress domains in the DNS Firewall list (runs' claims)
* ``reaper.py``      the scheduled backstop

The run record is the source of truth; see ``persistence/store.py`` for how it stays
consistent.
"""

from __future__ import annotations

from ..cloud.artifacts import Artifacts
from ..cloud.ecs import Ecs
from ..cloud.logs import LogReader
from ..core import config
from ..core.config import ApiConfig
from ..persistence.store import Store
from .continuation import Continuations
from .egress import RunDomainList
from .lifecycle import RunLifecycle
from .reads import RunReads
from .reaper import Reaper
from .task_state import TaskStateHandler


class Runs:
    """The run operations of one deployment (settings + table + cluster + log group)."""

    def __init__(self, settings: ApiConfig):
        self.settings = settings
        self.store = Store(settings.table_name)
        self.ecs = Ecs(settings)
        self.logs = LogReader(settings.log_group_name)
        self.egress = RunDomainList(settings, self.store)
        self.artifacts = Artifacts(settings.artifact_bucket)
        self.continuations = Continuations(settings, self.store, self.logs, self.artifacts)
        self.lifecycle = RunLifecycle(
            settings, self.store, self.ecs, self.egress, self.continuations
        )
        self.reads = RunReads(settings, self.store, self.logs)
        self.task_state = TaskStateHandler(
            settings, self.store, self.logs, self.egress, capacity=self.lifecycle.capacity
        )
        self.reaper = Reaper(settings, self.store, self.ecs, self.task_state)
        # The verbs the Lambda entry points (and tests) use, bound to the part that owns them.
        self.create = self.lifecycle.create
        self.stop_all = self.lifecycle.stop_all
        self.handle_task_event = self.task_state.handle_task_event
        self.reap = self.reaper.reap


_current: tuple[ApiConfig, Runs] | None = None


def current(settings: ApiConfig | None = None) -> Runs:
    """The Runs for the current settings (one per container, rebuilt when they change)."""
    global _current
    settings = settings or config.get()
    if _current is None or _current[0] is not settings:
        _current = (settings, Runs(settings))
    return _current[1]


def reset() -> None:
    """Forget the wired Runs (tests: after the environment changes)."""
    global _current
    _current = None
