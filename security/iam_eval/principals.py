"""A role of the synthesized stacks as the evaluator sees it: its policies and its boundary.

IAM decides with every policy of the principal at once — inline policies, attached managed
policies and the permissions boundary — so a role is read whole, with each policy's name kept
to say which statement decided. Reading a role that does not exist is an error, not an empty
role that denies everything (a renamed role would otherwise pass every "denied" case).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from security.iam_eval.addresses import Addresses


@dataclass(frozen=True)
class Policy:
    name: str
    document: dict


@dataclass(frozen=True)
class Principal:
    """What a request is evaluated against: the caller's policies and its boundary, if any."""

    name: str
    arn: str
    identity: tuple[Policy, ...]
    boundary: Policy | None = None

    def without_statement(self, sid: str) -> Principal:
        """This principal with statement `sid` removed wherever it is: a planted change."""
        found = False

        def strip(policy: Policy) -> Policy:
            nonlocal found
            document = copy.deepcopy(policy.document)
            kept = [s for s in document["Statement"] if s.get("Sid") != sid]
            found = found or len(kept) != len(document["Statement"])
            document["Statement"] = kept
            return Policy(policy.name, document)

        identity = tuple(strip(p) for p in self.identity)
        boundary = strip(self.boundary) if self.boundary else None
        if not found:
            raise KeyError(f"{self.name} has no statement {sid!r}")
        return replace(self, identity=identity, boundary=boundary)

    def with_statement(self, statement: dict) -> Principal:
        """This principal with `statement` added to its first policy and to its boundary: a
        planted widening (the boundary would otherwise keep a grant from taking effect)."""

        def add(policy: Policy) -> Policy:
            document = copy.deepcopy(policy.document)
            document["Statement"] = [*document["Statement"], statement]
            return Policy(policy.name, document)

        first, *rest = self.identity or (Policy("planted", {"Statement": []}),)
        boundary = add(self.boundary) if self.boundary else None
        return replace(self, identity=(add(first), *rest), boundary=boundary)


class Roles:
    """The roles of the synthesized stacks, by name (`cloudagent-dev-github-deploy`)."""

    def __init__(self, stacks: Mapping[str, dict], addresses: Addresses | None = None) -> None:
        self.stacks = stacks
        self.addresses = addresses or Addresses(stacks)

    def __getitem__(self, name: str) -> Principal:
        for stack, doc in self.stacks.items():
            for key, role in doc.get("resource", {}).get("aws_iam_role", {}).items():
                if self.addresses.resolve(role["name"], stack) == name:
                    return self._principal(stack, key, name, role)
        raise KeyError(f"no role named {name!r} in the synthesized stacks")

    def _principal(self, stack: str, key: str, name: str, role: dict) -> Principal:
        resources = self.stacks[stack].get("resource", {})
        refs = {f"${{aws_iam_role.{key}.{attr}}}" for attr in ("id", "name")}
        inline = [
            Policy(f"{name}/{p_key}", self._document(p["policy"], stack))
            for p_key, p in resources.get("aws_iam_role_policy", {}).items()
            if p["role"] in refs
        ]
        attached = [
            self.managed(self.addresses.resolve(a["policy_arn"], stack))
            for a in resources.get("aws_iam_role_policy_attachment", {}).values()
            if a["role"] in refs
        ]
        boundary = role.get("permissions_boundary")
        return Principal(
            name=name,
            arn=self.addresses.attribute(stack, "aws_iam_role", key, "arn"),
            identity=tuple(inline + attached),
            boundary=self.managed(self.addresses.resolve(boundary, stack)) if boundary else None,
        )

    def managed(self, arn: str) -> Policy:
        """The managed policy with this ARN, from whichever stack defines it."""
        for stack, doc in self.stacks.items():
            for key, policy in doc.get("resource", {}).get("aws_iam_policy", {}).items():
                if self.addresses.attribute(stack, "aws_iam_policy", key, "arn") == arn:
                    name = self.addresses.resolve(policy["name"], stack)
                    return Policy(name, self._document(policy["policy"], stack))
        raise KeyError(f"no managed policy {arn} in the synthesized stacks")

    def _document(self, text: str, stack: str) -> dict:
        return json.loads(self.addresses.resolve(text, stack))
