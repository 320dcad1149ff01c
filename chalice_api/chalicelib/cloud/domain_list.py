"""The DNS Firewall domain list of per-run egress domains (Route 53 Resolver): list, add,
remove. Which names belong in it is decided in ``runs/egress.py``."""

from __future__ import annotations

import time
from typing import Any

from ..core import aws
from ..core.domains import normalize

# UpdateFirewallDomains takes at most 1000 domains per request.
UPDATE_BATCH = 1000
LIST_PAGES = 5  # 5 x 1000 names: far above max_concurrent_runs (100) x 20 names
# A list being updated answers ConflictException; retried with these pauses (seconds).
RETRY_PAUSES = (0.5, 1.0)
RETRYABLE = ("ConflictException", "ThrottlingException", "InternalServiceErrorException")


class FirewallDomainList:
    """One firewall domain list."""

    def __init__(self, list_id: str, client: Any | None = None):
        self.list_id = list_id
        self._client = client

    api = aws.LazyClient("route53resolver")

    def listed(self) -> dict[str, str]:
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

    def update(self, operation: str, domains: list[str]) -> None:
        """ADD or REMOVE ``domains`` in batches, retrying a busy list."""
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
