"""Strict request validation: unknown fields, wrong types and bad strings are refused with 400.

Hand-written rather than a JSON-Schema library so the Lambda zip stays small and the import
fast; ``openapi.py`` describes the same rules and the tests check that the two agree.
Regexes use ``fullmatch`` on purpose: ``re.match(...$)`` accepts a trailing newline.
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ..core.config import HARD_MAX_RUNTIME_SECONDS, PROVIDERS
from ..core.domains import parse_request as _egress_domains
from ..core.errors import BadRequest, NotFound, PayloadTooLarge
from ..core.gitref import MAX_REF_CHARS, REF_RE, REPO_RE
from ..core.ids import RUN_ID_RE
from ..runs.request import RunRequest

MAX_BODY_BYTES = 64 * 1024
MAX_PROMPT_CHARS = 8192
MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
LOG_TOKEN_RE = re.compile(r"[A-Za-z0-9/+=_.-]{1,512}")
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 20
# A spend cap is kept to the micro-dollar (what the model proxy prices to); below is zero.
USD_STEP = Decimal("0.000001")
USD_CEILING = 10**9


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError("duplicate key")
        out[key] = value
    return out


def parse_json_object(raw: bytes | None, *, allow_empty: bool = False) -> dict[str, Any]:
    """Decode a request body that must be one JSON object; anything else is a 400 (or 413)."""
    if raw is None or raw.strip() == b"":
        if allow_empty:
            return {}
        raise BadRequest("request body must be a JSON object")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def _check_fields(body: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        shown = ", ".join(repr(k)[:40] for k in unknown[:5])
        raise BadRequest(f"unknown field(s): {shown}")
    missing = sorted(required - set(body))
    if missing:
        raise BadRequest(f"missing field(s): {', '.join(missing)}")


def _text_ok(value: str) -> bool:
    """No NUL (cannot travel in an environment variable) and valid UTF-8 (no lone surrogates)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _provider(value: Any) -> str:
    if not isinstance(value, str) or value not in PROVIDERS:
        raise BadRequest(f"provider must be one of: {', '.join(PROVIDERS)}")
    return value


def _model(value: Any) -> str:
    if not isinstance(value, str) or not MODEL_RE.fullmatch(value):
        raise BadRequest("model must match " + MODEL_RE.pattern)
    return value


def _max_runtime(body: dict[str, Any]) -> int:
    value = body.get("max_runtime_seconds", HARD_MAX_RUNTIME_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("max_runtime_seconds must be an integer")
    if not 1 <= value <= HARD_MAX_RUNTIME_SECONDS:
        raise BadRequest(f"max_runtime_seconds must be between 1 and {HARD_MAX_RUNTIME_SECONDS}")
    return value


def _repo(value: Any) -> str:
    if not isinstance(value, str) or not REPO_RE.fullmatch(value):
        raise BadRequest("repo must be OWNER/NAME of a GitHub repository")
    return value


def _ref(value: Any) -> str:
    if not isinstance(value, str) or not REF_RE.fullmatch(value):
        raise BadRequest(
            f"ref must be a branch, tag or commit SHA (git ref syntax, at most {MAX_REF_CHARS} "
            "characters of [A-Za-z0-9._/+-], not starting with - or +, no '..')"
        )
    return value


def _max_cost(value: Any) -> Decimal:
    """``max_cost_usd``: a JSON number above 0 (its upper bound is the deployment's setting,
    checked in ``runs/request.py``), kept exactly to the micro-dollar, rounded down."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise BadRequest("max_cost_usd must be a number of USD greater than 0")
    if value >= USD_CEILING:  # above any limit (refused later, naming it); bounds the work
        return Decimal(USD_CEILING)
    amount = Decimal(repr(value)).quantize(USD_STEP, rounding=ROUND_DOWN)
    if amount <= 0:
        raise BadRequest(f"max_cost_usd must be a number of USD of at least {USD_STEP}")
    return amount


def _continue_from(value: Any) -> str:
    if not isinstance(value, str) or not RUN_ID_RE.fullmatch(value):
        raise BadRequest("continue_from must be a run id (run_ + 26 characters of a ULID)")
    return value


def validate_create_run(body: dict[str, Any]) -> RunRequest:
    """Validate ``POST /v1/runs``: prompt, provider, model; optional max_runtime_seconds,
    repo and ref (ref only with repo, never with continue_from), egress_domains,
    max_cost_usd, continue_from."""
    _check_fields(
        body,
        {
            "prompt",
            "provider",
            "model",
            "max_runtime_seconds",
            "repo",
            "ref",
            "egress_domains",
            "max_cost_usd",
            "continue_from",
        },
        {"prompt", "provider", "model"},
    )
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise BadRequest("prompt must be a string")
    if not prompt.strip():
        raise BadRequest("prompt must not be empty")
    if not _text_ok(prompt):
        raise BadRequest("prompt contains characters that cannot be passed to the task")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PayloadTooLarge(f"prompt is longer than {MAX_PROMPT_CHARS} characters")
    if "ref" in body and "continue_from" in body:
        raise BadRequest(
            "ref must not be given with continue_from: the continuation starts from the state "
            "its parent run left"
        )
    if "ref" in body and "repo" not in body:
        raise BadRequest("ref needs repo")
    return RunRequest(
        prompt=prompt,
        provider=_provider(body["provider"]),
        model=_model(body["model"]),
        max_runtime_seconds=_max_runtime(body),
        repo=_repo(body["repo"]) if "repo" in body else None,
        ref=_ref(body["ref"]) if "ref" in body else None,
        egress_domains=_egress_domains(body["egress_domains"]) if "egress_domains" in body else (),
        max_cost_usd=_max_cost(body["max_cost_usd"]) if "max_cost_usd" in body else None,
        continue_from=_continue_from(body["continue_from"]) if "continue_from" in body else None,
    )


def validate_create_session(body: dict[str, Any]) -> RunRequest:
    """Validate ``POST /v1/sessions``: optional provider+model (together), max_runtime_seconds,
    egress_domains."""
    _check_fields(body, {"provider", "model", "max_runtime_seconds", "egress_domains"}, set())
    if ("provider" in body) != ("model" in body):
        raise BadRequest("provider and model must be given together")
    provider = _provider(body["provider"]) if "provider" in body else None
    model = _model(body["model"]) if "model" in body else None
    domains = _egress_domains(body["egress_domains"]) if "egress_domains" in body else ()
    return RunRequest(provider, model, _max_runtime(body), egress_domains=domains)


def validate_run_id(value: Any) -> str:
    """Run ids have one shape; anything else cannot exist, so it is a 404."""
    if not isinstance(value, str) or not RUN_ID_RE.fullmatch(value):
        raise NotFound("run not found")
    return value


def validate_idempotency_key(value: str | None) -> str | None:
    """Optional ``Idempotency-Key`` header: 1-128 chars of ``[A-Za-z0-9._:-]``."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY_RE.fullmatch(value):
        raise BadRequest("Idempotency-Key must be 1-128 characters of [A-Za-z0-9._:-]")
    return value


def check_query(params: dict[str, str] | None, allowed: set[str]) -> dict[str, str]:
    """Refuse unknown query parameters, like unknown body fields."""
    params = dict(params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(repr(k)[:40] for k in unknown)}")
    return params


def parse_limit(raw: str | None) -> int:
    """``limit`` query parameter: 1..100, default 20."""
    if raw is None:
        return DEFAULT_LIST_LIMIT
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        raise BadRequest(f"limit must be an integer between 1 and {MAX_LIST_LIMIT}")
    value = int(raw)
    if not 1 <= value <= MAX_LIST_LIMIT:
        raise BadRequest(f"limit must be an integer between 1 and {MAX_LIST_LIMIT}")
    return value


def validate_log_token(token: str | None) -> str | None:
    """CloudWatch Logs page token: passed through only if it looks like one."""
    if token is None:
        return None
    if not LOG_TOKEN_RE.fullmatch(token):
        raise BadRequest("next_token is not valid")
    return token
