"""The DNS Firewall domain list of per-run egress domains: open while a run that asked runs.

DNS Firewall works per VPC, not per task, so a name a run adds is open to every task of the
VPC while that run is active. The list (``EGRESS_RUN_DOMAIN_LIST_ID``, created empty by the
agent stack) must therefore hold exactly the union of the ``egress_domains`` of the runs still
active - and two runs may ask for the same name, so the first to stop must not close it.

Which run holds which names lives in one table item, ``EGRESS#RUN_DOMAINS``/``EGRESS``
(attribute ``runs``: run id -> its names), not in a scan of run records: a claim is written
BEFORE the names are added, and a release removes the run's claim and then brings the list
to the claims' union (:meth:`RunDomainList.sync`). ``sync`` removes what no claim needs, then
reads the claims again and adds back whatever a claim written in the meantime needs, so a run
that claimed a name before any removal ends up with it in the list whatever the interleaving.
REPLACE is never sent: an empty list is the normal state, and REMOVE/ADD of the difference
never send an empty ``Domains``. The reaper drops claims of runs that are no longer active
(lost events) and syncs every few minutes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from . import aws
from .config import ApiConfig
from .domains import normalize
from .errors import ApiError
from .statuses import FAILED_TO_START, TERMINAL
from .store import Store

log = logging.getLogger(__name__)

CLAIMS_KEY = {"pk": {"S": "EGRESS#RUN_DOMAINS"}, "sk": {"S": "EGRESS"}}
# UpdateFirewallDomains takes at most 1000 domains per request.
UPDATE_BATCH = 1000
LIST_PAGES = 5  # 5 x 1000 names: far above max_concurrent_runs (100) x 20 names
# A list being updated answers ConflictException; retried with these pauses (seconds).
RETRY_PAUSES = (0.5, 1.0)
RETRYABLE = ("ConflictException", "ThrottlingException", "InternalServiceErrorException")


class EgressUnavailable(ApiError):
    """The run's names could not be added; the run was failed before any task started."""

    status, code = 503, "egress_unavailable"


class RunDomainList:
    """Claims in the table and the firewall domain list that follows them."""

    def __init__(self, settings: ApiConfig, store: Store, client: Any | None = None):
        self.settings = settings
        self.store = store
        self._client = client

    api = aws.LazyClient("route53resolver")

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
        """Drop the run's claim and sync the list; never raises (a stop must not fail on it).
        Returns whether the run held a claim and the list was brought up to date."""
        try:
            if not self._unclaim(run_id):
                return False
            self.sync()
        except Exception as exc:
            log.warning("releasing the egress domains of %s failed: %r", run_id, exc)
            return False
        return True

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
        """The reaper's pass: drop claims of runs that are gone or finished, then sync."""
        dropped = []
        for run_id in sorted(self._claims()):
            record = self.store.get_run(run_id)
            if record is None or record.get("status") in TERMINAL:
                self._unclaim(run_id)
                dropped.append(run_id)
        return {"dropped_claims": dropped, **self.sync()}

    def _listed(self) -> dict[str, str]:
        """normalized name -> the name as the list holds it (REMOVE wants that form)."""
        out: dict[str, str] = {}
        token: str | None = None
        for _ in range(LIST_PAGES):
            kwargs: dict[str, Any] = {"FirewallDomainListId": self.list_id, "MaxResults": 1000}
            if token:
                kwargs["NextToken"] = token
            resp = self.api.list_firewall_domains(**kwargs)
            out.update({normalize(d): d for d in resp.get("Domains") or []})
            token = resp.get("NextToken")
            if not token:
                break
        return out

    def _update(self, operation: str, domains: list[str]) -> None:
        for i in range(0, len(domains), UPDATE_BATCH):
            batch = domains[i : i + UPDATE_BATCH]
            for pause in (*RETRY_PAUSES, None):
                try:
                    self.api.update_firewall_domains(
                        FirewallDomainListId=self.list_id, Operation=operation, Domains=batch
                    )
                    break
                except Exception as exc:
                    if pause is None or aws.error_code(exc) not in RETRYABLE:
                        raise
                    time.sleep(pause)

    # -- the claims item -------------------------------------------------------------------

    def _claims(self) -> dict[str, list[str]]:
        resp = self.store.db.get_item(
            TableName=self.store.table, Key=CLAIMS_KEY, ConsistentRead=True
        )
        runs = resp.get("Item", {}).get("runs", {}).get("M", {})
        return {
            run_id: [v["S"] for v in value.get("L", []) if "S" in v]
            for run_id, value in runs.items()
        }

    def _union(self) -> set[str]:
        return {normalize(d) for names in self._claims().values() for d in names}

    def _claim(self, run_id: str, domains: tuple[str, ...]) -> None:
        db, table = self.store.db, self.store.table
        # Two writes: a map entry cannot be set in the same expression that creates the map.
        db.update_item(
            TableName=table,
            Key=CLAIMS_KEY,
            UpdateExpression="SET #runs = if_not_exists(#runs, :empty)",
            ExpressionAttributeNames={"#runs": "runs"},
            ExpressionAttributeValues={":empty": {"M": {}}},
        )
        db.update_item(
            TableName=table,
            Key=CLAIMS_KEY,
            UpdateExpression="SET #runs.#run = :names",
            ExpressionAttributeNames={"#runs": "runs", "#run": run_id},
            ExpressionAttributeValues={":names": {"L": [{"S": d} for d in domains]}},
        )

    def _unclaim(self, run_id: str) -> bool:
        """Remove the run's claim; False when it held none (repeats are no-ops)."""
        try:
            self.store.db.update_item(
                TableName=self.store.table,
                Key=CLAIMS_KEY,
                UpdateExpression="REMOVE #runs.#run",
                ConditionExpression="attribute_exists(#runs.#run)",
                ExpressionAttributeNames={"#runs": "runs", "#run": run_id},
            )
        except Exception as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True
