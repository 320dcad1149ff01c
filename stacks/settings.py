"""Settings, names and limits: the one place every stack, check and test reads them.

Operators configure a deployment through `cdktf.json` context (checked into their fork) and
override any value per shell with a `CLOUDAGENT_*` environment variable (CI, local runs).
Everything is validated before a single construct is created, so a typo stops synth with one
line naming the setting instead of surfacing as a Terraform error minutes into an apply.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

PROJECT = "cloudagent"
STACK_NAMES = ("foundation", "agent", "api")
CDKTF_JSON = Path(__file__).resolve().parent.parent / "cdktf.json"

# --- Agent providers: pi's provider id -> the environment variable pi reads its key from. ---
PROVIDER_KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "google": "GEMINI_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}
PROVIDERS = tuple(PROVIDER_KEY_ENV)
# ECS refuses to start a task when any secret it injects has no value, and operators rarely use
# all five providers. So each provider secret starts with this placeholder (not a key); the
# entrypoint treats it as a missing key (exit 2) and the admin function reports the key unset
# until a real value replaces it. Kept in step with image/entrypoint by a test.
PROVIDER_KEY_PLACEHOLDER = "cloudagent:not-set"

# --- Limits shared by the stacks, the container contract and the checks. ---
LOG_RETENTION_DAYS = 14
ECR_IMAGES_KEPT = 10
AGENT_MAX_RUNTIME_SECONDS = 7200  # hard cap, DESIGN §4
AGENT_STOP_GRACE_SECONDS = 30  # SIGTERM -> SIGKILL; also the ECS stopTimeout
AGENT_CONTAINER_NAME = "agent"
AGENT_USER_UID = 1000  # the image's non-root `operator` user (image/Dockerfile)
AGENT_WORKSPACE = "/workspace"
# Repository in, patch out (DESIGN §4): the env var of the optional read-only clone token (ECS
# injects it as a secret; the entrypoint keeps it out of pi's environment) and the limits of
# the `patch` events the control plane reassembles. Kept in step with image/entrypoint by a test.
AGENT_REPO_TOKEN_ENV = "AGENT_REPO_TOKEN"
PATCH_CHUNK_BYTES = 200_000  # patch text per `patch` event
PATCH_MAX_BYTES = 10 * 1024 * 1024  # whole patch; beyond it the patch is cut and flagged
FINAL_MESSAGE_MAX_BYTES = 64 * 1024  # result.final_message

# The largest Fargate shape (DESIGN §1).
TASK_CPU_UNITS = 16384
TASK_MEMORY_MIB = 122880
TASK_EPHEMERAL_STORAGE_GIB = 200

# --- Fargate list prices (USD), Linux, us-east-1, on-demand; source:
# https://aws.amazon.com/fargate/pricing/ (read 2026-11-26). Used for the per-run cost estimate.
FARGATE_PRICES_SOURCE = "https://aws.amazon.com/fargate/pricing/ (us-east-1, read 2026-11-26)"
FARGATE_PRICE_PER_VCPU_HOUR = {"X86_64": 0.04048, "ARM64": 0.03238}
FARGATE_PRICE_PER_GB_HOUR = {"X86_64": 0.004445, "ARM64": 0.00356}
FARGATE_EPHEMERAL_PRICE_PER_GB_HOUR = 0.000111  # beyond the 20 GiB included
FARGATE_EPHEMERAL_INCLUDED_GIB = 20


def task_hourly_cost_usd(architecture: str) -> float:
    """List price of one agent task-hour at the configured shape and architecture."""
    vcpu = TASK_CPU_UNITS / 1024
    memory_gb = TASK_MEMORY_MIB / 1024
    storage_gb = max(0, TASK_EPHEMERAL_STORAGE_GIB - FARGATE_EPHEMERAL_INCLUDED_GIB)
    return round(
        vcpu * FARGATE_PRICE_PER_VCPU_HOUR[architecture]
        + memory_gb * FARGATE_PRICE_PER_GB_HOUR[architecture]
        + storage_gb * FARGATE_EPHEMERAL_PRICE_PER_GB_HOUR,
        5,
    )


# --- The edge: CloudFront sends this header with a secret value; the control API refuses any
# request without it, so the API cannot be reached around CloudFront and its WAF. ---
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
ORIGIN_VERIFY_ENV = "ORIGIN_VERIFY_SECRET_ARN"

# --- GitHub OIDC ---
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_ISSUER = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"


class SettingsError(ValueError):
    """A setting is invalid; the message is one line naming the setting and the accepted form."""


_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,14}[a-z0-9]$|^[a-z]$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_GITHUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})"
_GITHUB_REPO = re.compile(rf"^{_GITHUB_NAME}/{_GITHUB_NAME}$")
_GITHUB_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
# S3 bucket naming rules: 3-63 chars, lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ARCHITECTURES = ("X86_64", "ARM64")
_AUDIENCE = re.compile(r"^[^\s,]{1,128}$")


@dataclass(frozen=True)
class Settings:
    """One deployment's configuration; construct it with `load_settings`, never by hand."""

    env_name: str = "dev"
    region: str = "us-east-1"
    github_repo: str = "org/cloudagent"
    github_environment: str = "dev"
    state_bucket: str | None = None
    vpc_cidr: str = "10.40.0.0/16"
    nat_gateway_count: int = 1
    agent_image_tag: str = "latest"
    agent_architecture: str = "X86_64"
    max_concurrent_runs: int = 5
    api_reserved_concurrency: int = 20
    api_oidc_audience: str = ""
    # True when the account already has GitHub's OIDC provider (IAM allows one per URL):
    # foundation then looks it up instead of creating it.
    github_oidc_provider_exists: bool = False

    @property
    def prefix(self) -> str:
        """Resource-name prefix; deploy-role permissions are scoped by it."""
        return f"{PROJECT}-{self.env_name}"

    @property
    def github_subject(self) -> str:
        """The only OIDC subject any role or the API trusts."""
        return f"repo:{self.github_repo}:environment:{self.github_environment}"

    @property
    def log_group_prefix(self) -> str:
        """Every project log group lives under it; the KMS key policy for logs is scoped by it."""
        return f"/{PROJECT}/{self.env_name}"

    def log_group_name(self, purpose: str) -> str:
        return f"{self.log_group_prefix}/{purpose}"

    @property
    def api_audience(self) -> str:
        """The `aud` the control API accepts; workflows request tokens for it."""
        return self.api_oidc_audience or self.prefix

    def state_key(self, stack: str) -> str:
        return f"{PROJECT}/{self.env_name}/{stack}.tfstate"


_ENV_PREFIX = "CLOUDAGENT_"


def env_var_for(setting: str) -> str:
    return _ENV_PREFIX + setting.upper()


def _describe(name: str) -> str:
    return f"setting '{name}' ({env_var_for(name)})"


def _check(name: str, ok: bool, value: object, accepted: str) -> None:
    if not ok:
        raise SettingsError(f"{_describe(name)}: {value!r} is invalid; expected {accepted}")


def _validate_cidr(value: str) -> None:
    accepted = (
        "an IPv4 CIDR from /16 to /26 (two AZs of public and private subnets), e.g. 10.40.0.0/16"
    )
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        _check("vpc_cidr", False, value, accepted)
        return
    _check("vpc_cidr", 16 <= network.prefixlen <= 26, value, accepted)


def validate(settings: Settings) -> Settings:
    """Refuse the first bad value with a message that names it."""
    _check(
        "env_name",
        bool(_ENV_NAME.match(settings.env_name)),
        settings.env_name,
        "1-16 lowercase letters, digits or hyphens, starting with a letter, e.g. dev",
    )
    _check(
        "region",
        bool(_REGION.match(settings.region)),
        settings.region,
        "an AWS region name such as us-east-1 or eu-west-2",
    )
    _check(
        "github_repo",
        bool(_GITHUB_REPO.match(settings.github_repo)),
        settings.github_repo,
        "ORG/REPO, e.g. my-org/cloudagent",
    )
    _check(
        "github_environment",
        bool(_GITHUB_ENVIRONMENT.match(settings.github_environment)),
        settings.github_environment,
        "a GitHub environment name (letters, digits, '_', '.', '-'), e.g. production",
    )
    if settings.state_bucket is not None:
        _check(
            "state_bucket",
            bool(_BUCKET.match(settings.state_bucket)),
            settings.state_bucket,
            "an S3 bucket name (3-63 lowercase letters, digits, '.', '-') or unset for local state",
        )
    _validate_cidr(settings.vpc_cidr)
    _check(
        "nat_gateway_count",
        settings.nat_gateway_count in (1, 2),
        settings.nat_gateway_count,
        "1 (one shared NAT gateway) or 2 (one per AZ)",
    )
    _check(
        "agent_image_tag",
        bool(_IMAGE_TAG.match(settings.agent_image_tag)),
        settings.agent_image_tag,
        "a Docker tag (letters, digits, '_', '.', '-'; at most 128), e.g. a commit SHA",
    )
    _check(
        "agent_architecture",
        settings.agent_architecture in _ARCHITECTURES,
        settings.agent_architecture,
        " or ".join(_ARCHITECTURES),
    )
    _check(
        "max_concurrent_runs",
        1 <= settings.max_concurrent_runs <= 100,
        settings.max_concurrent_runs,
        "a whole number from 1 to 100 (each running task costs about a dollar an hour)",
    )
    _check(
        "api_reserved_concurrency",
        1 <= settings.api_reserved_concurrency <= 1000,
        settings.api_reserved_concurrency,
        "a whole number from 1 to 1000",
    )
    _check(
        "api_oidc_audience",
        settings.api_oidc_audience == "" or bool(_AUDIENCE.match(settings.api_oidc_audience)),
        settings.api_oidc_audience,
        "empty (defaults to cloudagent-<env>) or 1-128 characters without spaces or commas",
    )
    _check(
        "github_oidc_provider_exists",
        isinstance(settings.github_oidc_provider_exists, bool),
        settings.github_oidc_provider_exists,
        "true or false",
    )
    return settings


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(name: str, raw: Any, target: type) -> Any:
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and name == "state_bucket"):
        return None
    if target is bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word not in _BOOLEANS:
            _check(name, False, raw, "true or false")
        return _BOOLEANS[word]
    if target is int:
        if isinstance(raw, bool):
            _check(name, False, raw, "a whole number")
        if isinstance(raw, int):
            return raw
        try:
            return int(str(raw).strip())
        except ValueError:
            _check(name, False, raw, "a whole number")
    if not isinstance(raw, str):
        _check(name, False, raw, "a string")
    return raw.strip()


_TYPES: dict[str, type] = {
    "nat_gateway_count": int,
    "max_concurrent_runs": int,
    "api_reserved_concurrency": int,
    "github_oidc_provider_exists": bool,
}


def load_settings(
    context: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build validated settings from cdktf.json context, then CLOUDAGENT_* overrides."""
    if context is None:
        context = json.loads(CDKTF_JSON.read_text()).get("context", {})
    environ = os.environ if environ is None else environ
    known = {f.name for f in fields(Settings)}
    unknown = sorted(k for k in context if k not in known and not k.startswith("cdktf"))
    if unknown:
        raise SettingsError(
            f"cdktf.json context: unknown setting '{unknown[0]}'; known: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for name in known:
        raw = context.get(name)
        if env_var_for(name) in environ:
            raw = environ[env_var_for(name)]
        if raw is not None:
            values[name] = _coerce(name, raw, _TYPES.get(name, str))
    return validate(Settings(**values))
