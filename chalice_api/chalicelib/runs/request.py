"""A create request as the runs layer takes it (validated by ``http/validation.py``), and the
rules on it that depend on the deployment's settings: which repositories may be named, and
how much a run may spend on its model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
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
    # The run's model spend cap (None: the setting max_run_cost_usd); checked in lifecycle.py.
    max_cost_usd: Decimal | None = None
    # The stopped run this one continues (``continuation.py``); its repo is then the parent's.
    continue_from: str | None = None

    def cost_cap(self, setting: Decimal) -> Decimal:
        """The cap the model proxy keeps for this run: the request's, or the setting."""
        return setting if self.max_cost_usd is None else self.max_cost_usd

    def canonical(self) -> str:
        """Stable text of the request, hashed to detect Idempotency-Key reuse with a new body.

        ``repo``/``ref``/``egress_domains``/``max_cost_usd``/``continue_from`` are included only
        when given, so a request without them hashes as it did before they existed (stored
        keys still replay).
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
        if self.max_cost_usd is not None:
            data["max_cost_usd"] = usd_text(self.max_cost_usd)
        if self.continue_from is not None:
            data["continue_from"] = self.continue_from
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


def usd_text(amount: Decimal) -> str:
    """An amount as plain decimal text (``25``, ``2.5``; never an exponent)."""
    return format(amount.normalize(), "f")


def check_cost_allowed(max_cost_usd: Decimal | None, limit: Decimal) -> None:
    """A run may ask for a spend cap up to the setting ``max_run_cost_usd`` (400 otherwise)."""
    if max_cost_usd is not None and max_cost_usd > limit:
        raise BadRequest(
            f"max_cost_usd must be at most {usd_text(limit)} USD, the deployment's limit "
            "(setting max_run_cost_usd, MAX_RUN_COST_USD)"
        )
