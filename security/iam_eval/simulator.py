"""The bridge to `@cloud-copilot/iam-simulate`, the IAM evaluator the security tests trust.

Why this evaluator: it implements IAM's evaluation logic for identity policies, permissions
boundaries, resource policies, SCPs and RCPs with every condition operator; it validates each
request against AWS's service authorization data (an action that does not exist, or an ARN of a
type the action does not take, is an error rather than a silent deny); it names the statements
that decided; and it is maintained (releases through 2026). principalmapper, the Python option,
has had no release since 2022 and does not check a request's resource type. It is AGPL-3.0,
used here only as a test and report tool: nothing of it is shipped in the Lambda or the image.

It runs on Node from a pinned lock (`npm/package-lock.json`, installed once into `.cache/`),
one process per batch: a batch of hundreds of requests takes well under a second.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from security.iam_eval.principals import Principal
from security.iam_eval.requests import Decision, Request
from toolchain.npm_packages import installed

PACKAGE = Path(__file__).resolve().parent / "npm"


class EvaluatorError(RuntimeError):
    """The evaluator could not run (not a decision about a request)."""


def simulation(principal: Principal, request: Request) -> dict:
    """One request in the evaluator's input shape."""
    account = principal.arn.split(":")[4]
    found: dict = {
        "request": {
            "principal": principal.arn,
            "action": request.action,
            "resource": {"resource": request.resource, "accountId": account},
            "contextVariables": request.context_variables(),
        },
        "identityPolicies": [{"name": p.name, "policy": p.document} for p in principal.identity],
        "serviceControlPolicies": [],
        "resourceControlPolicies": [],
    }
    if principal.boundary is not None:
        found["permissionBoundaryPolicies"] = [
            {"name": principal.boundary.name, "policy": principal.boundary.document}
        ]
    if request.resource_policy is not None:
        found["resourcePolicy"] = request.resource_policy
    return found


def evaluate(pairs: Iterable[tuple[Principal, Request]]) -> list[Decision]:
    """The evaluator's decision on each (principal, request), in order, from one Node process."""
    batch = [simulation(principal, request) for principal, request in pairs]
    if not batch:
        return []
    script = installed(PACKAGE, "iam-simulate") / "simulate.mjs"
    result = subprocess.run(
        ["node", str(script)], input=json.dumps(batch), capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise EvaluatorError(f"iam-simulate failed: {result.stderr.strip()[-2000:]}")
    return [_decision(answer) for answer in json.loads(result.stdout)]


def _decision(answer: dict) -> Decision:
    if answer["decision"] == "Error":
        return Decision("Error", errors=json.dumps(answer["errors"]))
    reasons: Sequence[dict] = answer["grants"] if answer["decision"] == "Allowed" else []
    if answer["decision"] != "Allowed":
        reasons = answer["denials"]
    ignored = tuple(sorted(set(answer["ignoredContextKeys"])))
    return Decision(answer["decision"], tuple(sorted({_label(r) for r in reasons})), "", ignored)


def _label(reason: dict) -> str:
    sid = reason.get("statementId")
    if sid:
        return sid
    where = reason.get("policyIdentifier") or reason.get("identifier") or ""
    return f"{reason['policyType']}:{where}" if where else reason["policyType"]
