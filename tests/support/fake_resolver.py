"""A stand-in for the two Route 53 Resolver DNS Firewall calls the API makes, on a real client.

moto 5 implements Route 53 Resolver endpoints, rules and query-log configs but not DNS
Firewall domain lists (``moto/route53resolver/responses.py`` has no ``*_firewall_*``
handler), so this - and only this - is faked; every other service in these tests is moto.
It hooks the app's own boto3 client at ``before-call`` (as botocore's Stubber does), so the
request is built and its parameters validated by botocore against the real service model
first; only the HTTP round trip is replaced. Semantics follow the API reference: ADD adds
(set semantics), REMOVE removes, REPLACE sets exactly; an unknown list id is
``ResourceNotFoundException``; errors can be queued per operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse

OPERATIONS = ("UpdateFirewallDomains", "ListFirewallDomains")


class FakeFirewallDomainLists:
    """Domain lists by id, every call made, and errors to answer next."""

    def __init__(self, *list_ids: str):
        self.lists: dict[str, set[str]] = {list_id: set() for list_id in list_ids}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: dict[str, list[str]] = {op: [] for op in OPERATIONS}
        # Called with (operation, params) before an update is applied (race tests).
        self.before_update: Callable[[str, dict[str, Any]], None] | None = None

    def install(self, client: Any) -> None:
        """Answer the two operations on ``client`` (a botocore route53resolver client)."""
        for operation in OPERATIONS:
            client.meta.events.register(f"before-call.route53resolver.{operation}", self._answer)

    def updates(self) -> list[tuple[str, list[str]]]:
        """(Operation, Domains) of every UpdateFirewallDomains call, in order."""
        return [
            (params["Operation"], params["Domains"])
            for name, params in self.calls
            if name == "UpdateFirewallDomains"
        ]

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict]:
        request = json.loads(params["body"] or b"{}")
        self.calls.append((model.name, request))
        queued = self.errors[model.name]
        if queued:
            return _error(queued.pop(0))
        domains = self.lists.get(request["FirewallDomainListId"])
        if domains is None:
            return _error("ResourceNotFoundException")
        if model.name == "ListFirewallDomains":
            return AWSResponse(None, 200, {}, None), {"Domains": sorted(domains)}
        if self.before_update:
            hook, self.before_update = self.before_update, None  # once: it may call back in
            hook(request["Operation"], request)
        names = set(request["Domains"])
        if request["Operation"] == "ADD":
            domains |= names
        elif request["Operation"] == "REMOVE":
            domains -= names
        else:
            domains.clear()
            domains |= names
        body = {"Id": request["FirewallDomainListId"], "Name": "runs", "Status": "UPDATING"}
        return AWSResponse(None, 200, {}, None), body


def _error(code: str) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {"Error": {"Code": code, "Message": f"fake {code}"}, "ResponseMetadata": {}}
    return AWSResponse(None, 400, {}, None), parsed
