"""Configuration of the control Lambda, read only from environment variables.

The api stack sets every variable; which ones, and how each parses, is one declaration shared
with the stacks (`environment.py`, from `stacks/shared/lambda_contract.py`). Reading happens on
first use (not at import) so that ``import app`` stays cheap and ``chalice package`` works
without any of them; a missing required variable raises :class:`ConfigError` naming it, so a
misconfigured deployment fails loudly on its first request instead of misbehaving later.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from decimal import Decimal

from .environment import CONTRACT, ConfigError, read

__all__ = ["PROVIDERS", "ApiConfig", "ConfigError", "from_env", "get", "reset"]

# What the contract says the deployment may hold: providers, capacities and modes, one list each.
PROVIDERS = tuple(CONTRACT["TASK_DEFINITION_ARNS"]["keys"])
CAPACITIES = tuple(CONTRACT["TASK_HOURLY_COST_USD"]["keys"])
CAPACITY_MODES = tuple(CONTRACT["CAPACITY"]["choices"])
EGRESS_MODES = tuple(CONTRACT["EGRESS_MODE"]["choices"])
HARD_MAX_RUNTIME_SECONDS = 7200


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
    # The token's `ref` must equal it (refs/heads/<default branch>) and its `job_workflow_ref`
    # be one of these (run-agent.yml on that branch): no other workflow or branch is trusted.
    oidc_ref: str
    oidc_job_workflow_refs: frozenset[str]
    # The artifact bucket: sessions the agent saves and the bundles continuations start from
    # (``cloud/artifacts.py``). Required: every run with a repository gets a session URL in it.
    artifact_bucket: str
    # The task role a session's task runs as (RunTask's overrides.taskRoleArn): ECS Exec only.
    # Headless runs keep their task definition's task role, which may do nothing.
    exec_task_role_arn: str
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
    # provider -> the family whose clone container (alone) holds the repository token; runs
    # with a repository use it, other runs and sessions the family without that container.
    repo_task_definition_arns: dict[str, str] | None = None
    # The sidecar that holds the provider key and meters the run, and the clone container:
    # each gets its own RunTask environment overrides.
    model_proxy_container_name: str = "model-proxy"
    repo_init_container_name: str = "repo-init"
    # Setting max_run_cost_usd: a run's model spend cap, and the most a request may ask for.
    max_run_cost_usd: Decimal = Decimal(25)

    def task_definition_arn(self, provider: str, repo: bool) -> str:
        """The family RunTask starts for ``provider``: with a repository, the one whose clone
        container holds the token; ConfigError when that family is not configured."""
        if not repo:
            return self.task_definition_arns[provider]
        if not self.repo_task_definition_arns:
            raise ConfigError(
                "required environment variable REPO_TASK_DEFINITION_ARNS is not set "
                "(runs with a repository start its families)"
            )
        return self.repo_task_definition_arns[provider]


def _egress(env: dict[str, str]) -> tuple[str, str | None, str | None, tuple[str, ...]]:
    """The EGRESS_* variables; per-run domains with a firewall need the list to put them in."""
    mode = read(env, "EGRESS_MODE")
    allowed = read(env, "EGRESS_RUN_DOMAINS_ALLOWED") or ()
    list_id = read(env, "EGRESS_RUN_DOMAIN_LIST_ID")
    if allowed and mode != "off" and list_id is None:
        raise ConfigError(
            "environment variable EGRESS_RUN_DOMAIN_LIST_ID is required when "
            "EGRESS_RUN_DOMAINS_ALLOWED is set and EGRESS_MODE is not off"
        )
    return mode, read(env, "EGRESS_QUERY_LOG_GROUP"), list_id, allowed


def from_env(env: dict[str, str] | None = None) -> ApiConfig:
    """Parse settings from ``env`` (default ``os.environ``); raises ConfigError naming the var."""
    env = dict(os.environ if env is None else env)
    issuer = read(env, "OIDC_ISSUER")
    egress_mode, query_log, list_id, run_domains = _egress(env)
    return ApiConfig(
        table_name=read(env, "TABLE_NAME"),
        cluster_arn=read(env, "CLUSTER_ARN"),
        task_definition_arns=read(env, "TASK_DEFINITION_ARNS"),
        provider_secret_arns=read(env, "PROVIDER_SECRET_ARNS"),
        container_name=read(env, "CONTAINER_NAME"),
        subnet_ids=read(env, "SUBNET_IDS"),
        security_group_ids=read(env, "SECURITY_GROUP_IDS"),
        log_group_name=read(env, "LOG_GROUP_NAME"),
        max_concurrent_runs=read(env, "MAX_CONCURRENT_RUNS"),
        oidc_issuer=issuer,
        oidc_jwks_url=read(env, "OIDC_JWKS_URL") or issuer.rstrip("/") + "/.well-known/jwks",
        oidc_audience=read(env, "OIDC_AUDIENCE"),
        oidc_allowed_subjects=frozenset(read(env, "OIDC_ALLOWED_SUBJECTS")),
        oidc_ref=read(env, "OIDC_REF"),
        oidc_job_workflow_refs=frozenset(read(env, "OIDC_JOB_WORKFLOW_REFS")),
        artifact_bucket=read(env, "ARTIFACT_BUCKET"),
        exec_task_role_arn=read(env, "EXEC_TASK_ROLE_ARN"),
        app_stage=read(env, "APP_STAGE"),
        app_version=read(env, "APP_VERSION"),
        hourly_costs_usd=read(env, "TASK_HOURLY_COST_USD"),
        capacity=read(env, "CAPACITY"),
        origin_verify_secret_arn=read(env, "ORIGIN_VERIFY_SECRET_ARN"),
        origin_verify_off=read(env, "ORIGIN_VERIFY") == "off",
        repo_token_secret_arn=read(env, "REPO_TOKEN_SECRET_ARN"),
        oidc_repository_id=read(env, "OIDC_REPOSITORY_ID"),
        stop_grace_seconds=read(env, "AGENT_STOP_GRACE_SECONDS"),
        allowed_repos=read(env, "ALLOWED_REPOS") or frozenset(),
        egress_mode=egress_mode,
        egress_query_log_group=query_log,
        egress_run_domain_list_id=list_id,
        egress_run_domains_allowed=run_domains,
        assign_public_ip=read(env, "ASSIGN_PUBLIC_IP"),
        repo_task_definition_arns=read(env, "REPO_TASK_DEFINITION_ARNS"),
        model_proxy_container_name=read(env, "MODEL_PROXY_CONTAINER_NAME"),
        repo_init_container_name=read(env, "REPO_INIT_CONTAINER_NAME"),
        max_run_cost_usd=read(env, "MAX_RUN_COST_USD"),
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
