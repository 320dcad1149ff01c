"""Configuration of the control Lambda, read only from environment variables.

The api stack sets every variable. Reading happens on first use (not at import) so that
``import app`` stays cheap and ``chalice package`` works without any of them; a missing
required variable raises :class:`ConfigError` naming it, so a misconfigured deployment fails
loudly on its first request instead of misbehaving later.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .domains import DOMAIN_RE
from .gitref import REPO_RE, canonical_repo

DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"
# The ranges of the deployment settings this function receives, generated from their one
# declaration (stacks/shared/settings.py) by `python -m devtools.docs`; a test keeps it fresh.
SETTING_LIMITS: dict[str, dict] = json.loads(
    (Path(__file__).resolve().parent.parent / "setting_limits.json").read_text()
)
PROVIDERS = ("anthropic", "openai", "google", "xai", "openrouter")
EGRESS_MODES = ("enforce", "observe", "off")
RESOURCE_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
HARD_MAX_RUNTIME_SECONDS = 7200
# The setting `capacity` (stacks/shared/settings.py; a test keeps the two lists equal) and the
# capacities a task can actually run on, which the prices are keyed by.
CAPACITY_MODES = ("on-demand", "spot", "spot-then-on-demand")
CAPACITIES = ("on-demand", "spot")


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed (the message names it)."""


@dataclass(frozen=True)
class ApiConfig:
    """Everything the API reads from its environment, parsed and checked once."""

    table_name: str
    cluster_arn: str
    # provider -> task definition ARN (family, no revision): each injects only its own key.
    task_definition_arns: dict[str, str]
    # provider -> its key's secret ARN: the API checks the key is set before a run starts.
    provider_secret_arns: dict[str, str]
    container_name: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    log_group_name: str
    max_concurrent_runs: int
    oidc_issuer: str
    oidc_jwks_url: str
    oidc_audience: str
    oidc_allowed_subjects: frozenset[str]
    app_stage: str = "dev"
    app_version: str = "0.0.0"
    # capacity ("on-demand", "spot") -> an agent task-hour's price; a run stores the one it used.
    hourly_costs_usd: dict[str, float] | None = None
    # Setting `capacity`: which Fargate capacity RunTask asks for, and whether Spot falls back.
    capacity: str = "on-demand"
    origin_verify_secret_arn: str | None = None
    # ORIGIN_VERIFY=off: no origin check while ORIGIN_VERIFY_SECRET_ARN is unset (tests and
    # local tooling only; the stacks never set it). Without either, every route answers 403.
    origin_verify_off: bool = False
    # The clone token's secret (setting private_repos); every task injects it, so every run and
    # session needs it set.
    repo_token_secret_arn: str | None = None
    # When set, a token's repository_id claim must equal it (setting github_repository_id).
    oidc_repository_id: str | None = None
    stop_grace_seconds: int = 30
    # Lower-cased OWNER/NAME a run may name as ``repo``; empty: no repository is allowed.
    allowed_repos: frozenset[str] = frozenset()
    # Setting egress_mode: the VPC's DNS Firewall. Unset means off (no firewall, no query log).
    egress_mode: str = "off"
    # The firewall's query-log log group (absent when off): blocked names are read from it.
    egress_query_log_group: str | None = None
    # The domain list the API fills with the egress_domains of active runs, and the entries
    # (setting egress_run_domains_allowed) a run's egress_domains must be covered by.
    egress_run_domain_list_id: str | None = None
    egress_run_domains_allowed: tuple[str, ...] = ()
    # RunTask's assignPublicIp: ENABLED with network_mode `public` (tasks in public subnets
    # reach the internet through the internet gateway), DISABLED behind NAT.
    assign_public_ip: str = "DISABLED"


def _required(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"required environment variable {name} is not set")
    return value


def _csv(env: dict[str, str], name: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in _required(env, name).split(",") if x.strip())
    if not items:
        raise ConfigError(f"environment variable {name} must list at least one value")
    return items


def _int(env: dict[str, str], name: str, default: int | None, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigError(f"required environment variable {name} is not set")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"environment variable {name} must be between {lo} and {hi}")
    return value


def _setting_int(env: dict[str, str], name: str) -> int:
    """A deployment setting's value, within the same range synth accepted."""
    limits = SETTING_LIMITS[name]
    return _int(env, name, None, limits["min"], limits["max"])


def _provider_map(env: dict[str, str], name: str, what: str) -> dict[str, str]:
    """A required JSON object whose keys are exactly the providers and whose values are ARNs."""
    message = (
        f"environment variable {name} must be a JSON object mapping each provider "
        f"({', '.join(PROVIDERS)}) to its {what} ARN"
    )
    raw = _required(env, name)
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError(message) from None
    if (
        not isinstance(data, dict)
        or set(data) != set(PROVIDERS)
        or not all(isinstance(v, str) and v.startswith("arn:") for v in data.values())
    ):
        raise ConfigError(message)
    return dict(data)


def _origin_verify_off(env: dict[str, str]) -> bool:
    raw = env.get("ORIGIN_VERIFY", "").strip()
    if raw and raw != "off":
        raise ConfigError("environment variable ORIGIN_VERIFY may only be 'off' (or unset)")
    return raw == "off"


def _repository_id(env: dict[str, str]) -> str | None:
    raw = env.get("OIDC_REPOSITORY_ID", "").strip()
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 20):
        raise ConfigError("environment variable OIDC_REPOSITORY_ID must be a numeric id or empty")
    return raw or None


def _costs(env: dict[str, str]) -> dict[str, float] | None:
    """TASK_HOURLY_COST_USD: a JSON object of capacity -> USD per task-hour (a bare number, the
    form before Spot existed, is the on-demand price)."""
    raw = env.get("TASK_HOURLY_COST_USD", "").strip()
    if not raw:
        return None
    message = (
        "environment variable TASK_HOURLY_COST_USD must be a JSON object mapping "
        f"{' and '.join(CAPACITIES)} to a price from 0 to 1000 USD per task-hour"
    )
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError(message) from None
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        data = {"on-demand": data}
    if (
        not isinstance(data, dict)
        or not set(data) <= set(CAPACITIES)
        or "on-demand" not in data
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1000
            for v in data.values()
        )
    ):
        raise ConfigError(message)
    return {k: float(v) for k, v in data.items()}


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """One of a setting's words (unset: ``default``); anything else names the variable."""
    raw = env.get(name, "").strip() or default
    if raw not in choices:
        raise ConfigError(
            f"environment variable {name} must be one of {', '.join(choices)}, not {raw[:40]!r}"
        )
    return raw


def _allowed_repos(env: dict[str, str]) -> frozenset[str]:
    raw = env.get("ALLOWED_REPOS", "")
    repos = [x.strip() for x in raw.split(",") if x.strip()]
    bad = [r for r in repos if not REPO_RE.fullmatch(r)]
    if bad:
        raise ConfigError(
            "environment variable ALLOWED_REPOS must be a comma list of OWNER/NAME "
            f"(not {bad[0][:100]!r})"
        )
    return frozenset(canonical_repo(r) for r in repos)


def _egress(env: dict[str, str]) -> tuple[str, str | None, str | None, tuple[str, ...]]:
    """The EGRESS_* variables; per-run domains with a firewall need the list to put them in."""
    mode = _choice(env, "EGRESS_MODE", EGRESS_MODES, "off")
    raw = env.get("EGRESS_RUN_DOMAINS_ALLOWED", "")
    allowed = tuple(x.strip() for x in raw.split(",") if x.strip())
    bad = [d for d in allowed if not DOMAIN_RE.fullmatch(d)]
    if bad:
        raise ConfigError(
            "environment variable EGRESS_RUN_DOMAINS_ALLOWED must be a comma list of lowercase "
            f"domains, each example.com or *.example.com (not {bad[0][:100]!r})"
        )
    list_id = env.get("EGRESS_RUN_DOMAIN_LIST_ID", "").strip() or None
    if list_id is not None and not RESOURCE_ID_RE.fullmatch(list_id):
        raise ConfigError("environment variable EGRESS_RUN_DOMAIN_LIST_ID is not a resource id")
    if allowed and mode != "off" and list_id is None:
        raise ConfigError(
            "environment variable EGRESS_RUN_DOMAIN_LIST_ID is required when "
            "EGRESS_RUN_DOMAINS_ALLOWED is set and EGRESS_MODE is not off"
        )
    query_log = env.get("EGRESS_QUERY_LOG_GROUP", "").strip() or None
    return mode, query_log, list_id, allowed


def from_env(env: dict[str, str] | None = None) -> ApiConfig:
    """Parse settings from ``env`` (default ``os.environ``); raises ConfigError naming the var."""
    env = dict(os.environ if env is None else env)
    issuer = env.get("OIDC_ISSUER", "").strip() or DEFAULT_ISSUER
    jwks = env.get("OIDC_JWKS_URL", "").strip() or issuer.rstrip("/") + "/.well-known/jwks"
    egress_mode, query_log, list_id, run_domains = _egress(env)
    return ApiConfig(
        table_name=_required(env, "TABLE_NAME"),
        cluster_arn=_required(env, "CLUSTER_ARN"),
        task_definition_arns=_provider_map(env, "TASK_DEFINITION_ARNS", "task definition"),
        provider_secret_arns=_provider_map(env, "PROVIDER_SECRET_ARNS", "secret"),
        container_name=_required(env, "CONTAINER_NAME"),
        subnet_ids=_csv(env, "SUBNET_IDS"),
        security_group_ids=_csv(env, "SECURITY_GROUP_IDS"),
        log_group_name=_required(env, "LOG_GROUP_NAME"),
        max_concurrent_runs=_setting_int(env, "MAX_CONCURRENT_RUNS"),
        oidc_issuer=issuer,
        oidc_jwks_url=jwks,
        oidc_audience=_required(env, "OIDC_AUDIENCE"),
        oidc_allowed_subjects=frozenset(_csv(env, "OIDC_ALLOWED_SUBJECTS")),
        app_stage=env.get("APP_STAGE", "").strip() or "dev",
        app_version=env.get("APP_VERSION", "").strip() or "0.0.0",
        hourly_costs_usd=_costs(env),
        capacity=_choice(env, "CAPACITY", CAPACITY_MODES, "on-demand"),
        origin_verify_secret_arn=env.get("ORIGIN_VERIFY_SECRET_ARN", "").strip() or None,
        origin_verify_off=_origin_verify_off(env),
        repo_token_secret_arn=env.get("REPO_TOKEN_SECRET_ARN", "").strip() or None,
        oidc_repository_id=_repository_id(env),
        stop_grace_seconds=_int(env, "AGENT_STOP_GRACE_SECONDS", 30, 0, 3600),
        allowed_repos=_allowed_repos(env),
        egress_mode=egress_mode,
        egress_query_log_group=query_log,
        egress_run_domain_list_id=list_id,
        egress_run_domains_allowed=run_domains,
        assign_public_ip=_choice(env, "ASSIGN_PUBLIC_IP", ("ENABLED", "DISABLED"), "DISABLED"),
    )


_lock = threading.Lock()
_cached: ApiConfig | None = None


def get() -> ApiConfig:
    """The ApiConfig of this Lambda container, parsed on first use and then cached."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = from_env()
    return _cached


def reset() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    global _cached
    with _lock:
        _cached = None
