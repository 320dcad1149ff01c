"""Is a secret the agent task injects set? Checked before a run or session is recorded.

ECS cannot start a task whose injected secret has no value, and the provider secrets (and the
clone token of ``private_repos``, injected only into the clone container of the families for
runs with a repository) start with none. So ``POST /v1/runs`` and ``/v1/sessions``
refuse with 409 - naming the admin action that sets it - before anything is written or a slot
is taken, instead of recording a run that fails to start.

A secret counts as set when ``DescribeSecret`` shows a version staged ``AWSCURRENT`` (and the
secret is not scheduled for deletion): metadata only, this code never reads a value. Only
positive answers are cached (60 s per Lambda container), so a key set through the admin
function is seen by the next request, and a busy API does not call DescribeSecret per request.
A failed DescribeSecret is a 503, never a 500: the caller may retry.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from ..core import aws
from ..core.config import PROVIDERS, ApiConfig
from ..core.errors import ApiError

log = logging.getLogger(__name__)

CACHE_SECONDS = 60
CURRENT_STAGE = "AWSCURRENT"


class SecretNotSet(ApiError):
    """A secret the task injects has no current value: 409 naming the admin action."""

    status, code = 409, "provider_key_not_set"


class SecretCheckUnavailable(ApiError):
    """DescribeSecret failed (throttled, denied, missing secret): nothing was recorded."""

    status, code = 503, "unavailable"


_lock = threading.Lock()
_known_set: dict[str, float] = {}  # secret ARN -> monotonic time it was last seen set


def is_set(arn: str) -> bool:
    """Whether the secret has a version staged AWSCURRENT; raises SecretCheckUnavailable."""
    now = time.monotonic()
    with _lock:
        seen = _known_set.get(arn)
        if seen is not None and now - seen < CACHE_SECONDS:
            return True
    try:
        desc = aws.client("secretsmanager").describe_secret(SecretId=arn)
    except Exception as exc:
        log.error("DescribeSecret failed: %s", aws.error_code(exc) or type(exc).__name__)
        raise SecretCheckUnavailable(
            "could not check whether the secret is set; retry in a moment"
        ) from None
    stages = desc.get("VersionIdsToStages") or {}
    current = not desc.get("DeletedDate") and any(
        CURRENT_STAGE in (labels or []) for labels in stages.values()
    )
    if current:
        with _lock:
            _known_set[arn] = now
    return current


def _admin_event(action: str, **fields: str) -> str:
    return json.dumps({"action": action, **fields, "value": "..."})


def provider_key_not_set(provider: str | None) -> SecretNotSet:
    """The 409 for an unset provider key (``None``: a session and no key is set at all)."""
    if provider is None:
        return SecretNotSet(
            "no provider key is set; set one with the admin function: "
            + _admin_event("set_provider_key", provider="openai")
        )
    return SecretNotSet(
        f"the {provider} key is not set; set it with the admin function: "
        + _admin_event("set_provider_key", provider=provider)
    )


def require_task_secrets(settings: ApiConfig, provider: str | None, repo: bool = False) -> str:
    """Check every secret the task will inject; returns the provider whose task runs.

    ``provider`` is the run's; a session without one gets the first provider, in the order of
    ``PROVIDERS``, whose key is set. ``repo``: the run clones a repository, so its task (and
    only such a task) injects the clone token when ``private_repos`` is on. Raises
    SecretNotSet (409) or SecretCheckUnavailable (503).
    """
    if provider is None:
        chosen = next((p for p in PROVIDERS if is_set(settings.provider_secret_arns[p])), None)
        if chosen is None:
            raise provider_key_not_set(None)
        provider = chosen
    elif not is_set(settings.provider_secret_arns[provider]):
        raise provider_key_not_set(provider)
    arn = settings.repo_token_secret_arn
    if repo and arn and not is_set(arn):
        raise SecretNotSet(
            "the repository token (setting private_repos) is not set, and a run with a "
            "repository needs it; set it with the admin function: "
            + _admin_event("set_repo_token"),
            code="repo_token_not_set",
        )
    return provider


def reset() -> None:
    """Forget cached answers (tests)."""
    with _lock:
        _known_set.clear()
