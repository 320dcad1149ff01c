"""The delivery guarantees as functions that return problems, so each test can also feed them
a mutated copy and see them fail."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from stacks.foundation.github import READ_ACTION_PREFIXES, READ_ACTIONS_WITHOUT_READ_PREFIX
from stacks.shared.constants import GITHUB_OIDC_HOST, STS_AUDIENCE


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def statements(doc: Mapping[str, Any]) -> list[dict]:
    return _list(doc.get("Statement", []))


def trust_problems(
    doc: Mapping[str, Any], subject: str, operator: str = "StringEquals"
) -> list[str]:
    """Exactly one web-identity statement, StringEquals aud = STS and sub = the one subject
    (compared with `operator`: StringLike only for the plan role's pull-request number)."""
    found = statements(doc)
    if len(found) != 1:
        return [f"{len(found)} trust statements, expected 1"]
    s = found[0]
    problems = []
    if s.get("Action") != "sts:AssumeRoleWithWebIdentity":
        problems.append(f"action {s.get('Action')!r}")
    federated = s.get("Principal", {}).get("Federated", "")
    if "oidc-provider" not in federated and "aws_iam_openid_connect_provider" not in federated:
        problems.append(f"principal {federated!r} is not the GitHub OIDC provider")
    condition = s.get("Condition", {})
    expected: dict[str, dict[str, str]] = {
        "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE}
    }
    expected.setdefault(operator, {})[f"{GITHUB_OIDC_HOST}:sub"] = subject
    if condition != expected:
        problems.append(f"condition {condition} != {expected}")
    return problems


def write_actions(doc: Mapping[str, Any]) -> list[str]:
    """Allowed actions whose name does not start with a read prefix (Describe, Get, List, ...)."""
    found = []
    for s in statements(doc):
        if s.get("Effect") != "Allow":
            continue
        for action in _list(s.get("Action", [])):
            verb = action.split(":", 1)[1]
            if action in READ_ACTIONS_WITHOUT_READ_PREFIX:
                continue
            if not verb.startswith(READ_ACTION_PREFIXES):
                found.append(action)
    return found


def pass_role_problems(doc: Mapping[str, Any], roles_pattern: str) -> list[str]:
    """iam:PassRole only on the project's roles, only to named services."""
    problems = []
    for s in statements(doc):
        if "iam:PassRole" not in _list(s.get("Action", [])) or s.get("Effect") != "Allow":
            continue
        if _list(s["Resource"]) != [roles_pattern]:
            problems.append(f"PassRole on {s['Resource']}")
        if "iam:PassedToService" not in s.get("Condition", {}).get("StringEquals", {}):
            problems.append("PassRole without an iam:PassedToService condition")
    return problems


def bounded_role_write_problems(doc: Mapping[str, Any], boundary: str) -> list[str]:
    """CreateRole/PutRolePolicy/PutRolePermissionsBoundary only with the project boundary."""
    guarded = {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"}
    problems = []
    for s in statements(doc):
        if s.get("Effect") != "Allow" or not guarded & set(_list(s.get("Action", []))):
            continue
        pinned = s.get("Condition", {}).get("StringEquals", {}).get("iam:PermissionsBoundary")
        if pinned != boundary:
            problems.append(f"{s.get('Sid')}: role writes without iam:PermissionsBoundary")
    return problems


def allowed_actions(docs: Iterable[Mapping[str, Any]]) -> set[str]:
    return {
        a
        for doc in docs
        for s in statements(doc)
        if s.get("Effect") == "Allow"
        for a in _list(s.get("Action", []))
    }


# --- Workflows ---------------------------------------------------------------------------


def jobs(workflow: Mapping[str, Any]) -> dict[str, dict]:
    return workflow.get("jobs", {})


def permission_problems(workflow: Mapping[str, Any]) -> list[str]:
    problems = []
    if workflow.get("permissions") != {}:
        problems.append(f"top-level permissions {workflow.get('permissions')!r}, expected {{}}")
    for name, job in jobs(workflow).items():
        if "permissions" not in job:
            problems.append(f"job {name} has no explicit permissions")
    return problems


def unpinned_actions(text: str) -> list[str]:
    """`uses:` not pinned to a full commit SHA with its version in a comment.

    A tag can be moved to other code; the jobs that use these actions hold id-token or write
    permissions, so they must run exactly the reviewed commit (`@<sha> # vX.Y.Z`). A local
    `./` workflow is the repository's own.
    """
    found = []
    for ref, comment in re.findall(r"uses:\s*([^\s#]+)[ \t]*(#[^\n]*)?", text):
        if ref.startswith("./"):
            continue
        pinned = "@" in ref and re.fullmatch(r"[0-9a-f]{40}", ref.split("@", 1)[1])
        if not pinned or not re.fullmatch(r"# v\d+\.\d+\.\d+", comment.strip()):
            found.append(ref)
    return found


def secret_references(text: str) -> list[str]:
    return re.findall(r"secrets\.[A-Za-z0-9_]+", text)


def make_targets_used(text: str) -> set[str]:
    return set(re.findall(r"\bmake\s+([a-z][a-z0-9_-]*)", text))


def variables_used(text: str) -> set[str]:
    return set(re.findall(r"\bvars\.([A-Za-z0-9_]+)", text))
