"""A create request as the runs layer takes it (validated by ``http/validation.py``), and the
one rule on it that depends on the deployment's settings: which repositories may be named."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..core.errors import BadRequest
from ..core.gitref import canonical_repo


@dataclass(frozen=True)
class RunRequest:
    """A validated create-run or create-session request (prompt is None for a session)."""

    provider: str | None
    model: str | None
    max_runtime_seconds: int
    prompt: str | None = None
    repo: str | None = None
    ref: str | None = None
    egress_domains: tuple[str, ...] = ()  # sorted; checked against the setting in lifecycle.py

    def canonical(self) -> str:
        """Stable text of the request, hashed to detect Idempotency-Key reuse with a new body.

        ``repo``/``ref``/``egress_domains`` are included only when given, so a request
        without them hashes as it did before they existed (stored keys still replay).
        """
        data: dict[str, Any] = {
            "prompt": self.prompt,
            "provider": self.provider,
            "model": self.model,
            "max_runtime_seconds": self.max_runtime_seconds,
        }
        if self.repo is not None:
            data["repo"] = self.repo
        if self.ref is not None:
            data["ref"] = self.ref
        if self.egress_domains:
            data["egress_domains"] = list(self.egress_domains)
        return json.dumps(data, sort_keys=True, ensure_ascii=True)


def check_repo_allowed(repo: str | None, allowed: frozenset[str]) -> None:
    """A run may name only a repository in the ``allowed_repos`` setting (400 otherwise)."""
    if repo is None or canonical_repo(repo) in allowed:
        return
    if not allowed:
        raise BadRequest(
            "repo is not allowed: the setting allowed_repos (ALLOWED_REPOS) is empty, so no "
            "repository may be used"
        )
    raise BadRequest(f"repo {repo} is not in the setting allowed_repos (ALLOWED_REPOS)")
