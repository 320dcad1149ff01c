"""The admin function: set a provider key, report which keys are set, stop every run.

Invoked only with ``lambda:InvokeFunction`` by the GitHub OIDC admin role (the api stack
grants nothing else). The event is validated like an API body; every outcome - including a
bad event - is a JSON response ``{"ok": bool, ...}`` rather than an exception, so the
invoker sees a clear message and the Lambda never logs a secret in a traceback.
Key values are written, never read back: ``key_status`` uses DescribeSecret only.
"""

from __future__ import annotations

import logging
from typing import Any

from . import aws
from .config import PROVIDERS, ApiConfig, ConfigError
from .errors import error_body

log = logging.getLogger(__name__)

MAX_KEY_CHARS = 4096
ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    # action: (required fields, optional fields) besides "action"
    "set_provider_key": ({"provider", "value"}, set()),
    "key_status": (set(), set()),
    "stop_all": (set(), set()),
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
    """Dispatch one admin event; ``settings_loader``/``service_factory`` are injected by app."""
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
        if action == "key_status":
            return _key_status(settings)
        result = service_factory(settings).stop_all("admin:stop_all")
        return {"ok": True, **result}
    except Exception as exc:  # never leak a traceback (or a key) to the invoker
        log.error("admin action %s failed: %s", action, type(exc).__name__)
        return _error("internal_error", f"{action} failed ({aws.error_code(exc) or 'error'})")


def _secret_arn(settings: ApiConfig, provider: str) -> str | dict[str, Any]:
    arn = settings.provider_secret_arns.get(provider)
    if not arn:
        return _error(
            "configuration_error", f"PROVIDER_SECRET_ARNS has no secret for provider {provider}"
        )
    return arn


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
    arn = _secret_arn(settings, provider)
    if isinstance(arn, dict):
        return arn
    resp = aws.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=body["value"])
    return {"ok": True, "provider": provider, "version_id": resp.get("VersionId")}


def _key_status(settings: ApiConfig) -> dict[str, Any]:
    """A key is set once the secret has a version after its first one.

    The foundation stack creates each secret with a placeholder version (ECS cannot start a task
    while any injected secret has no value); every real key is a later version. Counting
    versions, not reading values, keeps this function unable to read a key. (Writing the
    placeholder back by hand reads as "set"; the entrypoint still refuses it with exit 2.)
    """
    sm = aws.client("secretsmanager")
    keys: dict[str, bool | None] = {}
    for provider in PROVIDERS:
        arn = settings.provider_secret_arns.get(provider)
        if not arn:
            keys[provider] = None  # not configured
            continue
        versions = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]
        current = any("AWSCURRENT" in v.get("VersionStages", []) for v in versions)
        keys[provider] = current and len(versions) > 1
    return {"ok": True, "keys": keys}
