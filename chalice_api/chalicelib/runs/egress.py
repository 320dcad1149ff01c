"""The DNS Firewall domain list of per-run egress domains: open while a run that asked runs.

DNS Firewall works per VPC, not per task, so a name a run adds is open to every task of the
VPC while that run is active. The list (``EGRESS_RUN_DOMAIN_LIST_ID``, created empty by the
foundation stack) must therefore hold exactly the union of the ``egress_domains`` of the runs
still active - and two runs may ask for the same name, so the first to stop must not close it.

Which run holds which names lives in the run table, one item per (run, name) claim
(``persistence/egress_claims.py``), not in a scan of run records: a claim is written BEFORE
the names are added, and a release marks the run's claims released and then brings the list
to the distinct names of the claims still held (:meth:`RunDomainList.sync`); the list's API is
``cloud/domain_list.py``. ``sync`` removes what no claim needs, then reads the claims again and
adds back whatever a claim written in the meantime needs, so a run that claimed a name before
any removal ends up with it in the list whatever the interleaving. REPLACE is never sent: an
empty list is the normal state, and REMOVE/ADD of the difference never send an empty
``Domains``. A release whose sync fails is tried again, a bounded number of times with
growing pauses (``RELEASE_PAUSES``); what still fails is reconciled by the reaper, which on
every pass drops claims of runs no longer active (lost events) and brings the list to the
claims - removing what no claim holds, adding what one holds and the list lacks.
"""

from __future__ import annotations

import logging
from time import sleep
from typing import Any

from ..cloud.domain_list import FirewallDomainList
from ..core import aws
from ..core.config import ApiConfig
from ..core.domains import normalize
from ..core.errors import ApiError
from ..core.statuses import FAILED_TO_START, TERMINAL
from ..persistence import egress_claims
from ..persistence.store import Store

log = logging.getLogger(__name__)

# Pauses (seconds) between the tries of a release's sync: 4 tries within ~4 s, well inside the
# handler's timeout; after them, the reaper's next pass (every 5 minutes) reconciles.
RELEASE_PAUSES = (0.5, 1.0, 2.0)


class EgressUnavailable(ApiError):
    """The run's names could not be added; the run was failed before any task started."""

    status, code = 503, "egress_unavailable"


class RunDomainList:
    """Claims in the table and the firewall domain list that follows them."""

    def __init__(self, settings: ApiConfig, store: Store, client: Any | None = None):
        self.settings = settings
        self.store = store
        self._client = client

    @property
    def list_id(self) -> str | None:
        """The domain list, or None when the deployment has no firewall to open."""
        return self.settings.egress_run_domain_list_id

    # -- the run's side --------------------------------------------------------------------

    def open_for_run(self, run_id: str, domains: tuple[str, ...]) -> None:
        """Claim the run's names and add them to the list, before its task is started.

        On failure the run becomes FAILED_TO_START (its slot released, its claim dropped) and
        a 503 is raised: a task never starts without the names it asked for.
        """
        if not domains:
            return
        try:
            self._claim(run_id, domains)
            if self.list_id:
                self._update("ADD", list(domains))
        except Exception as exc:
            code = aws.error_code(exc) or type(exc).__name__
            reason = f"the run's egress_domains could not be added to the DNS Firewall ({code})"
            log.warning("run %s: %s: %r", run_id, reason, exc)
            self.store.transition(run_id, FAILED_TO_START, {"failure_reason": reason})
            self.release(run_id)
            raise EgressUnavailable(
                f"run {run_id} was not started: {reason}; retry (with a new Idempotency-Key: "
                "the same key answers with this failed run)"
            ) from None

    def release(self, run_id: str) -> bool:
        """Drop the run's claims and sync the list, the sync tried again after ``RELEASE_PAUSES``;
        never raises (a stop must not fail on it). Returns whether the run held a claim and the
        list was brought up to date; if not, the reaper's next pass reconciles it."""
        try:
            if not self._unclaim(run_id):
                return False
        except Exception as exc:
            log.warning("releasing the egress claims of %s failed: %r", run_id, exc)
            return False
        error: Exception | None = None
        for pause in (*RELEASE_PAUSES, None):
            try:
                self.sync()
                return True
            except Exception as exc:
                error = exc
            if pause is not None:
                sleep(pause)
        log.warning(
            "removing the egress domains of %s failed %d times, left to the reaper: %r",
            run_id,
            len(RELEASE_PAUSES) + 1,
            error,
        )
        return False

    # -- the list --------------------------------------------------------------------------

    def sync(self) -> dict[str, list[str]]:
        """Bring the list to the union of the claims: remove the rest, then add what a claim
        (read again after the removal) needs. Returns what was removed and added."""
        if not self.list_id:
            return {"removed": [], "added": []}
        current = self._listed()
        needed = self._union()
        extra = sorted(raw for name, raw in current.items() if name not in needed)
        if extra:
            self._update("REMOVE", extra)
        kept = {name for name, raw in current.items() if raw not in extra}
        missing = sorted(self._union() - kept)
        if missing:
            self._update("ADD", missing)
        return {"removed": extra, "added": missing}

    def prune(self) -> dict[str, Any]:
        """The reaper's pass: move claims of the old single item (an upgraded deployment), drop
        claims of runs that are gone or finished, then bring the list to the claims."""
        egress_claims.migrate_legacy(self.store.db, self.store.table)
        dropped = []
        for run_id in sorted(self._claims()):
            record = self.store.get_run(run_id)
            if record is None or record.get("status") in TERMINAL:
                self._unclaim(run_id)
                dropped.append(run_id)
        return {"dropped_claims": dropped, **self.sync()}

    # -- the claims and the list -----------------------------------------------------------

    def _listed(self) -> dict[str, str]:
        return FirewallDomainList(str(self.list_id), self._client).listed()

    def _update(self, operation: str, domains: list[str]) -> None:
        FirewallDomainList(str(self.list_id), self._client).update(operation, domains)

    def _claims(self) -> dict[str, list[str]]:
        return egress_claims.claims(self.store.db, self.store.table)

    def _union(self) -> set[str]:
        return {normalize(d) for names in self._claims().values() for d in names}

    def _claim(self, run_id: str, domains: tuple[str, ...]) -> None:
        egress_claims.claim(self.store.db, self.store.table, run_id, domains)

    def _unclaim(self, run_id: str) -> bool:
        """Release the run's claims; False when it held none (repeats are no-ops)."""
        return egress_claims.unclaim(self.store.db, self.store.table, run_id)
