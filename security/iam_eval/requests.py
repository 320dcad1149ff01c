"""One request as IAM authorizes it: an action on one resource, with its request context.

An AWS API call may be authorized as several such requests (EC2's `RunInstances` checks the
instance, the subnet, the security group...); each is one `Request` here. Tags are given as
tags, and become the condition keys IAM derives from them (`aws:RequestTag/K`, `aws:TagKeys`,
`aws:ResourceTag/K`), so a case reads like the call it stands for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ContextValue = str | list[str]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    request_tags: Mapping[str, str] = field(default_factory=dict)
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    # The resource's own policy (a key policy, a trust policy), when it has one that decides.
    resource_policy: dict | None = None

    def context_variables(self) -> dict[str, ContextValue]:
        found: dict[str, ContextValue] = {}
        for key, value in self.request_tags.items():
            found[f"aws:RequestTag/{key}"] = value
        if self.request_tags:
            found["aws:TagKeys"] = sorted(self.request_tags)
        for key, value in self.resource_tags.items():
            found[f"aws:ResourceTag/{key}"] = value
        return {**found, **self.context}

    def describe(self) -> str:
        tags = []
        if self.request_tags:
            tags.append(f"request tags {dict(self.request_tags)}")
        if self.resource_tags:
            tags.append(f"resource tags {dict(self.resource_tags)}")
        if self.context:
            tags.append(f"context {dict(self.context)}")
        return " ".join([self.action, "on", self.resource, *tags])


@dataclass(frozen=True)
class Decision:
    """The evaluator's answer: Allowed, ExplicitlyDenied, ImplicitlyDenied, or Error."""

    decision: str
    # Statement ids (or `<policy type>:<policy>` without one) that decided it.
    deciding: tuple[str, ...] = ()
    errors: str = ""
    # Context keys the evaluator dropped as not applying to the action: a case that needs one
    # is not judged by it (a "denied" would hold vacuously), so the tests refuse such cases.
    ignored: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == "Allowed"
