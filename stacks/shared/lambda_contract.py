"""The control Lambda's environment, declared once: each variable, what feeds it, how it parses.

It is a contract between two sides that may not import each other: the api stack builds the
variables (`stacks/api/lambda_environment.py`; `check_environment` refuses at synth a name this
does not declare, a required one left out, or a known value outside its range or words), and
the Lambda parses them (`chalicelib`'s config reads the JSON that
`python -m devtools.docs` generates from this declaration, since `chalice_api/` never imports
`stacks/`; a test keeps the JSON fresh). Ranges and choices come from the settings that feed
them, and the stop grace's from ECS's own cap, so the synth, the Lambda, the entrypoint and
ECS agree on each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from stacks.shared.constants import (
    AGENT_STOP_GRACE_MAX_SECONDS,
    AGENT_STOP_GRACE_SECONDS,
    GITHUB_OIDC_ISSUER,
    MODEL_PROXY_CONTAINER_NAME,
    PROVIDERS,
    REPO_INIT_CONTAINER_NAME,
)
from stacks.shared.prices import CAPACITIES
from stacks.shared.setting_fields import DecimalRange, OneOf, Range, decimal_text
from stacks.shared.setting_loader import specs

# How the Lambda reads a value (chalicelib's config implements each):
RULES = {
    "text": "a non-empty string",
    "arn": "an ARN",
    "csv": "a comma list of at least one value",
    "int": "a whole number within [min, max]",
    "usd": "a positive amount of US dollars within [min, max] (at most 2 decimals)",
    "choice": "one of `choices`",
    "provider_arns": "a JSON object mapping each of `keys` (the providers) to an ARN",
    "hourly_costs": "a JSON object mapping `keys` (capacities) to USD per task-hour",
    "repos": "a comma list of OWNER/NAME",
    "domains": "a comma list of lowercase domains, each example.com or *.example.com",
    "resource_id": "an AWS resource id (letters, digits, '-')",
    "numeric_id": "a numeric id",
}


@dataclass(frozen=True)
class EnvVar:
    """One variable: its parse rule, what feeds it, and whether the Lambda can do without it."""

    name: str
    rule: str
    fed_by: str
    required: bool = False
    default: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    choices: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # the keys of a JSON object value


def _setting(name: str):
    return next(spec for spec in specs() if spec.name == name)


def _from_setting(env: str, setting: str, rule: str | None = None, **extra: object) -> EnvVar:
    """A variable fed by one setting; without a `rule`, it takes the setting's range or words."""
    check = _setting(setting).check
    if rule is None and isinstance(check, Range):
        rule, extra = "int", {**extra, "min": check.lo, "max": check.hi}
    elif rule is None and isinstance(check, DecimalRange):
        rule, extra = "usd", {**extra, "min": check.lo, "max": check.hi}
    elif rule is None and isinstance(check, OneOf):
        rule, extra = "choice", {**extra, "choices": tuple(str(c) for c in check.choices)}
    if rule is None:
        raise ValueError(f"{env}: say how it parses (setting {setting} has no range or words)")
    return EnvVar(name=env, rule=rule, fed_by=f"setting {setting}", **extra)  # type: ignore[arg-type]


LAMBDA_ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar("TABLE_NAME", "text", "foundation: the run table", required=True),
    EnvVar("CLUSTER_ARN", "arn", "foundation: the ECS cluster", required=True),
    EnvVar(
        "TASK_DEFINITION_ARNS",
        "provider_arns",
        "agent: one per provider",
        required=True,
        keys=PROVIDERS,
    ),
    EnvVar(
        "PROVIDER_SECRET_ARNS",
        "provider_arns",
        "foundation: the keys",
        required=True,
        keys=PROVIDERS,
    ),
    EnvVar(
        "REPO_TASK_DEFINITION_ARNS",
        "provider_arns",
        "agent: one per provider, with repo-init (runs with a repository)",
        required=True,
        keys=PROVIDERS,
    ),
    EnvVar(
        "EXEC_TASK_ROLE_ARN",
        "arn",
        "agent: the task role of sessions (ECS Exec); headless runs keep the empty one",
        required=True,
    ),
    EnvVar("CONTAINER_NAME", "text", "agent: the container to override", required=True),
    EnvVar(
        "MODEL_PROXY_CONTAINER_NAME",
        "text",
        "agent: the model proxy sidecar to override",
        default=MODEL_PROXY_CONTAINER_NAME,
    ),
    EnvVar(
        "REPO_INIT_CONTAINER_NAME",
        "text",
        "agent: the clone container to override",
        default=REPO_INIT_CONTAINER_NAME,
    ),
    EnvVar("SUBNET_IDS", "csv", "foundation: the task subnets", required=True),
    EnvVar("SECURITY_GROUP_IDS", "csv", "agent: the tasks' security group", required=True),
    EnvVar("LOG_GROUP_NAME", "text", "agent: the task log group", required=True),
    EnvVar(
        "ARTIFACT_BUCKET",
        "text",
        "api: the artifact bucket (sessions/, continuations/)",
        required=True,
    ),
    _from_setting(
        "ASSIGN_PUBLIC_IP",
        "network_mode",
        rule="choice",
        choices=("ENABLED", "DISABLED"),
        default="DISABLED",
    ),
    _from_setting("MAX_CONCURRENT_RUNS", "max_concurrent_runs", required=True),
    _from_setting(
        "MAX_RUN_COST_USD",
        "max_run_cost_usd",
        default=decimal_text(_setting("max_run_cost_usd").default),
    ),
    _from_setting("ALLOWED_REPOS", "allowed_repos", rule="repos"),
    EnvVar(
        "OIDC_ISSUER",
        "text",
        "GitHub's issuer (the stacks never set another)",
        default=GITHUB_OIDC_ISSUER,
    ),
    EnvVar("OIDC_JWKS_URL", "text", "GitHub's issuer (default: the issuer's JWKS)"),
    _from_setting("OIDC_AUDIENCE", "api_oidc_audience", rule="text", required=True),
    _from_setting("OIDC_ALLOWED_SUBJECTS", "github_environment", rule="csv", required=True),
    _from_setting("OIDC_REPOSITORY_ID", "github_repository_id", rule="numeric_id"),
    _from_setting("OIDC_REF", "github_default_branch", rule="text", required=True),
    EnvVar(
        "OIDC_JOB_WORKFLOW_REFS",
        "csv",
        "settings github_repo and github_default_branch: run-agent.yml on the default branch",
        required=True,
    ),
    _from_setting("APP_STAGE", "env_name", rule="text", default="dev"),
    EnvVar("APP_VERSION", "text", "the project's version", default="0.0.0"),
    _from_setting("CAPACITY", "capacity", default="on-demand"),
    _from_setting(
        "TASK_HOURLY_COST_USD", "agent_architecture", rule="hourly_costs", keys=CAPACITIES
    ),
    _from_setting("REPO_TOKEN_SECRET_ARN", "private_repos", rule="arn"),
    EnvVar("ORIGIN_VERIFY_SECRET_ARN", "arn", "api: the origin-verify secret"),
    # Local tooling only (`make up` before its edge exists, tests); the stacks never set it.
    EnvVar("ORIGIN_VERIFY", "choice", "local tooling only", choices=("off",)),
    EnvVar(
        "AGENT_STOP_GRACE_SECONDS",
        "int",
        "the task definition's stopTimeout",
        default=str(AGENT_STOP_GRACE_SECONDS),
        min=0,
        max=AGENT_STOP_GRACE_MAX_SECONDS,
    ),
    _from_setting("EGRESS_MODE", "egress_mode", default="off"),
    _from_setting("EGRESS_RUN_DOMAINS_ALLOWED", "egress_run_domains_allowed", rule="domains"),
    EnvVar("EGRESS_QUERY_LOG_GROUP", "text", "foundation: the DNS query log (not with off)"),
    EnvVar("EGRESS_RUN_DOMAIN_LIST_ID", "resource_id", "foundation: the run-domain list"),
)
DECLARED = {var.name: var for var in LAMBDA_ENVIRONMENT}


class EnvironmentContractError(ValueError):
    """The api stack built a variable the contract does not declare, or left out a required one."""


def _out_of_bounds(var: EnvVar, value: str) -> bool:
    """A value known at synth (no Terraform reference) outside the variable's range or words."""
    if "${" in value or value == "":
        return False
    if var.rule == "int":
        return not (value.isdigit() and var.min <= int(value) <= var.max)  # type: ignore[operator]
    if var.rule == "usd":
        return not _usd_within(value, var.min, var.max)  # type: ignore[arg-type]
    return var.rule == "choice" and value not in var.choices


def _usd_within(value: str, lo: float, hi: float) -> bool:
    """The setting's own check on the text the Lambda will parse (digits, at most 2 decimals)."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", value):
        return False
    return DecimalRange(lo, hi)(float(value))


def check_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` as given, once it keeps the contract; otherwise stop synth, naming why."""
    problems = [f"undeclared {n}" for n in sorted(set(environment) - set(DECLARED))]
    problems += [
        f"required but not set {n}"
        for n, var in DECLARED.items()
        if var.required and n not in environment
    ]
    problems += [
        f"{n}={environment[n]!r} outside {RULES[var.rule]} {var.choices or (var.min, var.max)}"
        for n, var in DECLARED.items()
        if n in environment and _out_of_bounds(var, environment[n])
    ]
    if problems:
        raise EnvironmentContractError(
            "the control Lambda's environment breaks stacks/shared/lambda_contract.py: "
            + "; ".join(problems)
        )
    return dict(environment)


def contract_json() -> str:
    """What the Lambda parses by: name -> rule, required, default, min, max, choices, keys."""
    body = {}
    for var in LAMBDA_ENVIRONMENT:
        entry = {k: v for k, v in asdict(var).items() if k != "name" and v not in (None, ())}
        body[var.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in entry.items()}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"
