"""The Lambda's side of its environment contract: every variable parsed by its declared rule.

The declaration lives with the stacks that build the variables
(`stacks/shared/lambda_contract.py`); this package never imports `stacks/`, so
`python -m devtools.docs` writes it beside this module as `lambda_contract.json` and a test
keeps the copy fresh. What the stack may set and what is parsed here are then one list, with one
range or set of words per variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from .domains import DOMAIN_RE
from .gitref import REPO_RE, canonical_repo

_GENERATED: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parent / "lambda_contract.json").read_text()
)
CONTRACT: dict[str, dict[str, Any]] = _GENERATED
RESOURCE_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
# A positive amount of US dollars as the settings write it: digits, at most 6 decimals.
USD_RE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed (the message names it)."""


def read(env: Mapping[str, str], name: str) -> Any:
    """`name`'s value parsed by its rule; its default when unset (None if it has none)."""
    spec = CONTRACT[name]
    raw = env.get(name, "").strip()
    if not raw:
        if spec.get("required"):
            raise ConfigError(f"required environment variable {name} is not set")
        raw = spec.get("default")
        if raw is None:
            return None
    return RULES[spec["rule"]](name, raw, spec)


def _text(name: str, raw: str, spec: dict) -> str:
    return raw


def _arn(name: str, raw: str, spec: dict) -> str:
    if not raw.startswith("arn:"):
        raise ConfigError(f"environment variable {name} must be an ARN")
    return raw


def _csv(name: str, raw: str, spec: dict) -> tuple[str, ...]:
    items = tuple(x.strip() for x in raw.split(",") if x.strip())
    if not items:
        raise ConfigError(f"environment variable {name} must list at least one value")
    return items


def _int(name: str, raw: str, spec: dict) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer") from None
    if not spec["min"] <= value <= spec["max"]:
        raise ConfigError(
            f"environment variable {name} must be between {spec['min']} and {spec['max']}"
        )
    return value


def _choice(name: str, raw: str, spec: dict) -> str:
    if raw not in spec["choices"]:
        raise ConfigError(
            f"environment variable {name} must be one of {', '.join(spec['choices'])}, "
            f"not {raw[:40]!r}"
        )
    return raw


def _json_object(name: str, raw: str, message: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ConfigError(message) from None


def _provider_arns(name: str, raw: str, spec: dict) -> dict[str, str]:
    """Keys exactly the providers, each value an ARN."""
    message = (
        f"environment variable {name} must be a JSON object mapping each provider "
        f"({', '.join(spec['keys'])}) to an ARN"
    )
    data = _json_object(name, raw, message)
    if (
        not isinstance(data, dict)
        or set(data) != set(spec["keys"])
        or not all(isinstance(v, str) and v.startswith("arn:") for v in data.values())
    ):
        raise ConfigError(message)
    return dict(data)


def _hourly_costs(name: str, raw: str, spec: dict) -> dict[str, float]:
    """Capacity -> USD per task-hour (a bare number, the form before Spot, is on-demand's)."""
    message = (
        f"environment variable {name} must be a JSON object mapping "
        f"{' and '.join(spec['keys'])} to a price from 0 to 1000 USD per task-hour"
    )
    data = _json_object(name, raw, message)
    if isinstance(data, int | float) and not isinstance(data, bool):
        data = {"on-demand": data}
    if (
        not isinstance(data, dict)
        or not set(data) <= set(spec["keys"])
        or "on-demand" not in data
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1000
            for v in data.values()
        )
    ):
        raise ConfigError(message)
    return {k: float(v) for k, v in data.items()}


def _repos(name: str, raw: str, spec: dict) -> frozenset[str]:
    repos = [x.strip() for x in raw.split(",") if x.strip()]
    bad = [r for r in repos if not REPO_RE.fullmatch(r)]
    if bad:
        raise ConfigError(
            f"environment variable {name} must be a comma list of OWNER/NAME (not {bad[0][:100]!r})"
        )
    return frozenset(canonical_repo(r) for r in repos)


def _domains(name: str, raw: str, spec: dict) -> tuple[str, ...]:
    domains = tuple(x.strip() for x in raw.split(",") if x.strip())
    bad = [d for d in domains if not DOMAIN_RE.fullmatch(d)]
    if bad:
        raise ConfigError(
            f"environment variable {name} must be a comma list of lowercase domains, each "
            f"example.com or *.example.com (not {bad[0][:100]!r})"
        )
    return domains


def _resource_id(name: str, raw: str, spec: dict) -> str:
    if not RESOURCE_ID_RE.fullmatch(raw):
        raise ConfigError(f"environment variable {name} is not a resource id")
    return raw


def _numeric_id(name: str, raw: str, spec: dict) -> str:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 20):
        raise ConfigError(f"environment variable {name} must be a numeric id or empty")
    return raw


def _usd(name: str, raw: str, spec: dict) -> Decimal:
    """A positive decimal amount of USD (exact: it is compared with request amounts and
    handed to the model proxy as text), within the declared ``min``/``max``."""
    value = Decimal(raw) if USD_RE.fullmatch(raw) else Decimal(0)
    low, top = spec.get("min"), spec.get("max")
    too_low = value <= 0 or (low is not None and value < Decimal(str(low)))
    if too_low or (top is not None and value > Decimal(str(top))):
        bound = f" at least {low}" if low is not None else ""
        bound += f" at most {top}" if top is not None else ""
        raise ConfigError(
            f"environment variable {name} must be a positive decimal amount of USD{bound} "
            f"(digits, at most 6 decimals, e.g. 25 or 2.50), not {raw[:40]!r}"
        )
    return value


RULES: dict[str, Callable[[str, str, dict], Any]] = {
    "text": _text,
    "arn": _arn,
    "csv": _csv,
    "int": _int,
    "choice": _choice,
    "provider_arns": _provider_arns,
    "hourly_costs": _hourly_costs,
    "repos": _repos,
    "domains": _domains,
    "resource_id": _resource_id,
    "numeric_id": _numeric_id,
    "usd": _usd,
}
