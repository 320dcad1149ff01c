"""The control functions' environment: everything the Chalice app learns about its deployment.

The app reads its cluster, table, task definitions, network and limits from these variables
and nothing else. Which variables exist, what feeds each and how the app parses it is declared
once, in `stacks/shared/lambda_contract.py`: what is built here is checked against it at
synth, and the app parses by the same declaration.
"""

from __future__ import annotations

import json

from stacks.agent import AgentOutputs
from stacks.api.egress_access import egress_environment
from stacks.foundation import FoundationOutputs
from stacks.shared.constants import (
    AGENT_STOP_GRACE_SECONDS,
    GITHUB_OIDC_ISSUER,
    ORIGIN_VERIFY_ENV,
)
from stacks.shared.github_subjects import api_workflow_refs, default_ref, environment_subject
from stacks.shared.lambda_contract import check_environment
from stacks.shared.prices import CAPACITIES, task_hourly_cost_usd
from stacks.shared.setting_fields import decimal_text
from stacks.shared.settings import Settings

APP_VERSION = "0.1.0"


def lambda_environment(
    settings: Settings,
    foundation: FoundationOutputs,
    agent: AgentOutputs,
    *,
    origin_verify_secret_arn: str,
    artifact_bucket: str,
) -> dict[str, str]:
    """Every control function gets the same variables; each reads the ones it needs."""
    return check_environment(
        {
            **_runtime_environment(settings, foundation, agent),
            # Where a run's conversation and a continued run's bundle go (presigned URLs).
            "ARTIFACT_BUCKET": artifact_bucket,
            **_identity_environment(settings),
            **_pricing_environment(settings),
            **_secret_environment(foundation, origin_verify_secret_arn),
            "AGENT_STOP_GRACE_SECONDS": str(AGENT_STOP_GRACE_SECONDS),
            **egress_environment(settings, foundation),
        }
    )


def _runtime_environment(
    settings: Settings, foundation: FoundationOutputs, agent: AgentOutputs
) -> dict[str, str]:
    """Where a run goes: the table, the cluster, the task definitions and their network."""
    return {
        "TABLE_NAME": foundation.table_name,
        "CLUSTER_ARN": foundation.cluster_arn,
        # provider -> task definition (without revision): one per provider's key; the
        # `-repo` ones (with repo-init) for runs with a repository.
        "TASK_DEFINITION_ARNS": json.dumps(
            dict(agent.task_definition_arns_without_revision), sort_keys=True
        ),
        "REPO_TASK_DEFINITION_ARNS": json.dumps(
            dict(agent.repo_task_definition_arns_without_revision), sort_keys=True
        ),
        # What a session's task runs as (RunTask's overrides.taskRoleArn): ECS Exec only; a
        # headless run keeps the task definitions' task role, which may do nothing.
        "EXEC_TASK_ROLE_ARN": agent.exec_role_arn,
        "CONTAINER_NAME": agent.container_name,
        "MODEL_PROXY_CONTAINER_NAME": agent.model_proxy_container_name,
        "REPO_INIT_CONTAINER_NAME": agent.repo_init_container_name,
        "SUBNET_IDS": ",".join(foundation.task_subnet_ids),
        "ASSIGN_PUBLIC_IP": foundation.task_assign_public_ip,
        "SECURITY_GROUP_IDS": agent.security_group_id,
        "LOG_GROUP_NAME": agent.log_group_name,
        "MAX_CONCURRENT_RUNS": str(settings.max_concurrent_runs),
        # The cap a run's `max_cost_usd` may lower, never raise (the proxy enforces it).
        "MAX_RUN_COST_USD": decimal_text(settings.max_run_cost_usd),
        "ALLOWED_REPOS": ",".join(settings.run_repositories),
    }


def _identity_environment(settings: Settings) -> dict[str, str]:
    """Who may call the API (GitHub OIDC) and which deployment answers."""
    return {
        # GitHub's issuer, always: the development issuer exists only in `make up`.
        "OIDC_ISSUER": GITHUB_OIDC_ISSUER,
        "OIDC_JWKS_URL": f"{GITHUB_OIDC_ISSUER}/.well-known/jwks",
        "OIDC_AUDIENCE": settings.api_audience,
        "OIDC_ALLOWED_SUBJECTS": environment_subject(settings, "api"),
        "OIDC_REPOSITORY_ID": settings.github_repository_id,
        # Only jobs of run-agent.yml (continue-run.yml calls it) on the default branch.
        "OIDC_REF": default_ref(settings),
        "OIDC_JOB_WORKFLOW_REFS": ",".join(api_workflow_refs(settings)),
        "APP_STAGE": settings.env_name,
        "APP_VERSION": APP_VERSION,
    }


def _pricing_environment(settings: Settings) -> dict[str, str]:
    """The capacity runs ask for and what an hour of it costs."""
    return {
        "CAPACITY": settings.capacity,
        # capacity -> an agent task-hour at the configured architecture; a run stores
        # the price of the capacity it actually ran on.
        "TASK_HOURLY_COST_USD": json.dumps(
            {c: task_hourly_cost_usd(settings.agent_architecture, c) for c in CAPACITIES},
            sort_keys=True,
        ),
    }


def _secret_environment(
    foundation: FoundationOutputs, origin_verify_secret_arn: str
) -> dict[str, str]:
    """Which secrets hold the provider keys, the clone token and the origin value."""
    return {
        "PROVIDER_SECRET_ARNS": json.dumps(dict(foundation.provider_secret_arns), sort_keys=True),
        # Set only with private_repos: runs are refused (409) while it has no value.
        **(
            {"REPO_TOKEN_SECRET_ARN": foundation.repo_token_secret_arn}
            if foundation.repo_token_secret_arn
            else {}
        ),
        ORIGIN_VERIFY_ENV: origin_verify_secret_arn,
    }
