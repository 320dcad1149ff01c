"""Run statuses: the one list of them, their order, which are terminal, and how ECS maps in.

The store orders transitions by rank, the task-state handler maps ECS's ``lastStatus`` onto
a status, and the OpenAPI document enumerates them; each reads this module, so a status can
not be added in one place and forgotten in another.
"""

from __future__ import annotations

PENDING = "PENDING"  # record written, slot taken, RunTask not answered yet
STARTING = "STARTING"  # RunTask returned a task
RUNNING = "RUNNING"
STOPPING = "STOPPING"
STOPPED = "STOPPED"
FAILED_TO_START = "FAILED_TO_START"  # RunTask refused, or the create never completed

# The forward path a run takes; either terminal status ends it.
FORWARD = (PENDING, STARTING, RUNNING, STOPPING)
TERMINAL = frozenset({STOPPED, FAILED_TO_START})
STATUSES = (*FORWARD, STOPPED, FAILED_TO_START)

# A run's status only ever moves to a higher rank, which makes repeated and reordered ECS
# events harmless; both terminal statuses share the top rank, so neither replaces the other.
STATUS_RANK = {
    **{status: rank for rank, status in enumerate(FORWARD)},
    **{status: len(FORWARD) for status in TERMINAL},
}

# ECS task ``lastStatus`` -> run status (an unlisted ECS status is ignored).
ECS_STATUS = {
    "PROVISIONING": STARTING,
    "PENDING": STARTING,
    "ACTIVATING": STARTING,
    "RUNNING": RUNNING,
    "DEACTIVATING": STOPPING,
    "STOPPING": STOPPING,
    "DEPROVISIONING": STOPPING,
    "STOPPED": STOPPED,
}
