"""CKV_CA_1: a role GitHub Actions can assume is pinned to one subject of this repository.

GitHub's OIDC issuer signs tokens for *every* repository on github.com. A trust that checks only
the audience, or matches the subject with `StringLike`/a wildcard/a list, lets other repos,
branches or pull requests assume the role. So every trust statement that names
`token.actions.githubusercontent.com` must say, with `StringEquals` and nothing looser:
`:aud` = `sts.amazonaws.com` and `:sub` = exactly one subject. Which one depends on the role
(stacks/shared/github_subjects.py): the read-only plan role (`<prefix>-github-plan`) trusts the
`pull_request` subject alone — pull-request code runs in the plan job — and every other role
trusts only the gated `repo:ORG/REPO:environment:ENV`, with the `workflow` subject template
followed by `:job_workflow_ref:` and its own workflow file on the default branch (deploy:
apply-stack.yml, image: image.yml, admin: admin.yml). The one `StringLike` allowed is the plan
role's subject under that template, exactly as built there: its `*` is the pull request's
number, which no exact value can name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import ProjectCheck, Statement, Unknown, as_list, attr, policy_statements
from stacks.shared.constants import GITHUB_OIDC_HOST, STS_AUDIENCE
from stacks.shared.github_subjects import Trusted, role_trust
from stacks.shared.setting_loader import load_settings

AUD_KEY = f"{GITHUB_OIDC_HOST}:aud"
SUB_KEY = f"{GITHUB_OIDC_HOST}:sub"


ROLES = ("plan", "deploy", "image", "admin")


def allowed_subject(role_name: str) -> Trusted:
    """The one subject this role may trust, from cdktf.json context and CLOUDAGENT_* overrides:
    `<prefix>-github-<role>`'s own; any other role name, the environment's deploy subject."""
    settings = load_settings()
    for role in ROLES:
        if role_name == f"{settings.prefix}-github-{role}":
            return role_trust(settings, role)
    return role_trust(settings, "deploy")


class GithubOidcTrustPinned(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="GitHub OIDC trust: StringEquals aud=sts.amazonaws.com and sub=one subject: "
            "the pull_request one for the plan role only, the environment's (with the role's "
            "own workflow on the default branch) for every other role (no extra subject, no "
            "StringLike or wildcard but the plan role's pull request number)",
            id="CKV_CA_1",
            resources=["aws_iam_role"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        statements = policy_statements(conf, self.entity_type)
        github = [s for s in statements if _trusts_github(s)]
        if not github:
            raise Unknown("the role does not trust GitHub OIDC")
        trusted = allowed_subject(str(attr(conf, "name", "")))
        for statement in github:
            if not statement.allows:
                continue
            where = statement.name
            kinds = {k for k, _ in _principal_kinds(statement.principal)}
            if kinds != {"Federated"}:
                found.append(f"{where}: principal {statement.principal!r} is not only the OIDC IdP")
            expected = {AUD_KEY: "StringEquals", SUB_KEY: trusted.operator}
            pinned: dict[str, list[str]] = {}
            for operator, keys in statement.conditions.items():
                for key, value in (keys or {}).items():
                    if not key.startswith(f"{GITHUB_OIDC_HOST}:"):
                        continue
                    if expected.get(key) != operator:
                        found.append(
                            f"{where}: {operator} on {key} = {value!r} "
                            f"(only {expected.get(key, 'StringEquals')} pins it here)"
                        )
                        continue
                    pinned[key] = [str(v) for v in as_list(value)]
            found += _exactly(where, AUD_KEY, pinned.get(AUD_KEY), STS_AUDIENCE)
            found += _exactly(where, SUB_KEY, pinned.get(SUB_KEY), trusted.subject)
        return found


def _trusts_github(statement: Statement) -> bool:
    """The statement names GitHub's IdP: by host, or by the project's OIDC provider resource.

    A trust whose only mention of GitHub is `${aws_iam_openid_connect_provider.x.arn}` and that
    has no conditions at all must still be caught, so a reference to an OIDC provider resource
    counts (GitHub is the project's only OIDC identity provider).
    """
    text = json.dumps([statement.principal, statement.conditions])
    return GITHUB_OIDC_HOST in text or "aws_iam_openid_connect_provider" in text


def _principal_kinds(principal: Any) -> list[tuple[str, Any]]:
    if isinstance(principal, dict):
        return list(principal.items())
    return [("*", principal)]


def _exactly(where: str, key: str, values: list[str] | None, expected: str) -> list[str]:
    if not values:
        return [f"{where}: no StringEquals on {key} (must be {expected!r})"]
    wrong = [v for v in values if v != expected]
    if wrong:
        return [f"{where}: {key} allows {wrong!r}; only {expected!r} is allowed"]
    return []


check = GithubOidcTrustPinned()
