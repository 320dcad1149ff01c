"""The admin function: set a provider key or the clone token, report which are set, stop all,
and ``preflight`` (do the Fargate vCPU quotas fit the deployment? ``cloud/preflight.py``).

Invoked only with ``lambda:InvokeFunction`` by the GitHub OIDC admin role (the api stack
grants nothing else). The event is validated like an API body; every outcome - including a
bad event - is a JSON response ``{"ok": bool, ...}`` rather than an exception, so the
invoker sees a clear message and the Lambda never logs a secret in a traceback.
Values are written, never read back: ``key_status`` lists version ids and their stages only.
The clone token must be a fine-grained one, and with network GitHub is asked first whether it
can push to an allowed repository (``cloud/push_check.py``): a token that can is refused.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from ..cloud import preflight, push_check
from ..core import aws
from ..core.config import PROVIDERS, ApiConfig, ConfigError
from ..core.errors import error_body

log = logging.getLogger(__name__)

MAX_KEY_CHARS = 4096
# The clone token: a fine-grained personal access token (at most 255 characters, GitHub's
# documented bound), the only kind that can be limited to some repositories, read-only.
REPO_TOKEN_RE = re.compile(r"github_pat_[A-Za-z0-9_]{20,244}")
# GitHub's other token kinds, refused with the reason: each writes wherever its owner can.
OTHER_GITHUB_TOKENS = {
    "ghp_": "a classic personal access token",
    "gho_": "an OAuth app token",
    "ghu_": "a GitHub App user token",
    "ghs_": "a GitHub App installation token",
    "ghr_": "a refresh token",
}
CURRENT_STAGE = "AWSCURRENT"
ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    # action: (required fields, optional fields) besides "action"
    "set_provider_key": ({"provider", "value"}, set()),
    "set_repo_token": ({"value"}, set()),
    "key_status": (set(), set()),
    "stop_all": (set(), set()),
    "preflight": (set(), set()),
}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, **error_body(code, message)}


def _validate(event: Any) -> tuple[str, dict[str, Any]] | dict[str, Any]:
    if not isinstance(event, dict):
        return _error("bad_request", "event must be a JSON object")
    action = event.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        return _error("bad_request", f"action must be one of: {', '.join(sorted(ACTIONS))}")
    required, optional = ACTIONS[action]
    unknown = sorted(set(event) - required - optional - {"action"})
    if unknown:
        return _error(
            "bad_request", f"unknown field(s): {', '.join(repr(k)[:40] for k in unknown)}"
        )
    missing = sorted(required - set(event))
    if missing:
        return _error("bad_request", f"missing field(s): {', '.join(missing)}")
    return action, event


def _key_ok(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_KEY_CHARS
        and value == value.strip()
        and value.isprintable()
        and value.isascii()
    )


def handle(event: Any, settings_loader: Any, service_factory: Any) -> dict[str, Any]:
    """Dispatch one admin event; ``settings_loader``/``service_factory`` come from
    ``http/entry.py``."""
    checked = _validate(event)
    if isinstance(checked, dict):
        return checked
    action, body = checked
    try:
        settings: ApiConfig = settings_loader()
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return _error("configuration_error", str(exc))
    try:
        if action == "set_provider_key":
            return _set_key(settings, body)
        if action == "set_repo_token":
            return _set_repo_token(settings, body)
        if action == "key_status":
            return _key_status(settings)
        if action == "preflight":
            return {"ok": True, **preflight.report(settings, service_factory(settings).ecs)}
        result = service_factory(settings).stop_all("admin:stop_all")
        return {"ok": True, **result}
    except Exception as exc:  # never leak a traceback (or a key) to the invoker
        log.error("admin action %s failed: %s", action, type(exc).__name__)
        return _error("internal_error", f"{action} failed ({aws.error_code(exc) or 'error'})")


def _set_key(settings: ApiConfig, body: dict[str, Any]) -> dict[str, Any]:
    provider = body["provider"]
    if not isinstance(provider, str) or provider not in PROVIDERS:
        return _error("bad_request", f"provider must be one of: {', '.join(PROVIDERS)}")
    if not _key_ok(body["value"]):
        return _error(
            "bad_request",
            f"value must be 1-{MAX_KEY_CHARS} printable ASCII characters without surrounding "
            "whitespace",
        )
    arn = settings.provider_secret_arns[provider]
    resp = aws.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=body["value"])
    return {"ok": True, "provider": provider, "version_id": resp.get("VersionId")}


def _set_repo_token(settings: ApiConfig, body: dict[str, Any]) -> dict[str, Any]:
    value = body["value"]
    kind = OTHER_GITHUB_TOKENS.get(value[:4]) if isinstance(value, str) else None
    if kind:
        return _error(
            "bad_request",
            f"value is {kind} ({value[:4]}...), which is not accepted: its access cannot be "
            "limited to reading the allowed repositories; create a fine-grained personal "
            "access token (github_pat_...) with Contents: read-only on them",
        )
    if not isinstance(value, str) or not REPO_TOKEN_RE.fullmatch(value):
        return _error(
            "bad_request",
            "value must be a fine-grained GitHub token (github_pat_...) without whitespace, "
            "with Contents: read-only on the allowed repositories",
        )
    arn = settings.repo_token_secret_arn
    if not arn:
        return _error(
            "configuration_error",
            "REPO_TOKEN_SECRET_ARN is not set: enable the setting private_repos and deploy",
        )
    checked = push_check.check(value, sorted(settings.allowed_repos))
    if checked.can_push:
        return _error(
            "token_can_push",
            f"the token can push to {checked.can_push} (GitHub accepted it for "
            "git-receive-pack), so it was not stored: give it Contents: read-only",
        )
    resp = aws.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)
    report = {"checked": checked.checked, "skipped": checked.skipped}
    return {"ok": True, "version_id": resp.get("VersionId"), "push_check": report}


def _is_set(sm: Any, arn: str) -> bool:
    """Set = some version is staged AWSCURRENT; the value itself is never read."""
    versions = sm.list_secret_version_ids(SecretId=arn)["Versions"]
    return any(CURRENT_STAGE in v.get("VersionStages", []) for v in versions)


def _key_status(settings: ApiConfig) -> dict[str, Any]:
    """Which provider keys (and, with private_repos, the clone token) are set.

    The secrets start with no value at all, so a version staged AWSCURRENT means someone set
    it. A secret still holding the placeholder of an earlier version of this project reads
    as set (telling them apart would mean reading the value): set such keys again after the
    upgrade; the entrypoint still refuses the placeholder with exit 2.
    """
    sm = aws.client("secretsmanager")
    keys = {p: _is_set(sm, settings.provider_secret_arns[p]) for p in PROVIDERS}
    arn = settings.repo_token_secret_arn
    return {"ok": True, "keys": keys, "repo_token": _is_set(sm, arn) if arn else None}
