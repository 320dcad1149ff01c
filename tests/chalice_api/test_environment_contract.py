"""The control Lambda's environment contract, Lambda side: what the stacks synthesize parses.

The api stack builds the variables from the declaration in stacks/shared/lambda_contract.py and
the Lambda parses them by its generated copy (chalicelib/core/lambda_contract.json). Here the
synthesized environment of the default and of variant configurations goes through the Lambda's
own parser, with each Terraform reference replaced by a value of its kind (an ARN, an id, a
name): every variable the stack sets must parse, and the configuration must come out whole.
"""

from __future__ import annotations

import re

import pytest
from chalicelib.core import config
from chalicelib.core.environment import CONTRACT

from tests.support.synthesized import resources

REFERENCE = re.compile(r"\$\{([^}]*)\}")


def resolved(value: str) -> str:
    """Terraform references replaced as `apply` would: ARNs by an ARN, ids by an id."""

    def one(match: re.Match[str]) -> str:
        ref = match.group(1)
        if re.search(r"arn(_without_revision)?$", ref):
            return f"arn:aws:service:us-east-1:123456789012:thing/{abs(hash(ref)) % 10**6}"
        if ref.endswith("id"):
            return f"id-{abs(hash(ref)) % 10**6}"
        return f"name-{abs(hash(ref)) % 10**6}"

    return REFERENCE.sub(one, value)


def synthesized_environment(api_stack: dict) -> dict[str, str]:
    [env] = {
        tuple(sorted(f["environment"]["variables"].items()))
        for f in resources(api_stack, "aws_lambda_function")
    }
    return {name: resolved(value) for name, value in env}


@pytest.fixture(params=["default", "nat_observe", "egress_off"])
def environment(request: pytest.FixtureRequest, stacks, variant_stacks) -> dict[str, str]:
    name = request.param
    api = stacks["api"] if name == "default" else variant_stacks(name)["api"]
    return synthesized_environment(api)


def test_the_synthesized_environment_parses_into_a_whole_configuration(
    environment: dict[str, str],
) -> None:
    assert set(environment) <= set(CONTRACT), "a variable the Lambda does not know"
    parsed = config.from_env(environment)
    assert parsed.table_name.startswith("name-") and parsed.cluster_arn.startswith("arn:")
    assert set(parsed.task_definition_arns) == set(config.PROVIDERS)
    assert set(parsed.provider_secret_arns) == set(config.PROVIDERS)
    assert 1 <= parsed.max_concurrent_runs <= 100
    assert parsed.stop_grace_seconds == 30
    assert parsed.oidc_issuer == "https://token.actions.githubusercontent.com"
    assert parsed.origin_verify_secret_arn and not parsed.origin_verify_off
    assert set(parsed.hourly_costs_usd or {}) == set(config.CAPACITIES)
    assert parsed.egress_mode == environment["EGRESS_MODE"]
    assert parsed.artifact_bucket  # sessions and continuation bundles
    # The model proxy's and the clone container's variables: what the stacks set, or the
    # defaults while they do not set them yet.
    assert parsed.max_run_cost_usd > 0
    assert parsed.model_proxy_container_name == environment.get(
        "MODEL_PROXY_CONTAINER_NAME", "model-proxy"
    )
    assert parsed.repo_init_container_name == environment.get(
        "REPO_INIT_CONTAINER_NAME", "repo-init"
    )
    if "REPO_TASK_DEFINITION_ARNS" in environment:
        assert set(parsed.repo_task_definition_arns or {}) == set(config.PROVIDERS)


def test_the_variant_with_run_domains_names_its_list(variant_stacks) -> None:
    parsed = config.from_env(synthesized_environment(variant_stacks("nat_observe")["api"]))
    assert parsed.egress_run_domains_allowed == ("example.com", "*.example.org")
    assert parsed.egress_run_domain_list_id and parsed.assign_public_ip == "DISABLED"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MAX_CONCURRENT_RUNS": "101"}, "MAX_CONCURRENT_RUNS must be between 1 and 100"),
        ({"AGENT_STOP_GRACE_SECONDS": "121"}, "AGENT_STOP_GRACE_SECONDS must be between 0 and 120"),
        ({"CAPACITY": "cheap"}, "CAPACITY must be one of on-demand, spot, spot-then-on-demand"),
        ({"CLUSTER_ARN": "cloudagent-dev"}, "CLUSTER_ARN must be an ARN"),
        ({"MAX_RUN_COST_USD": "0"}, "MAX_RUN_COST_USD must be a positive decimal amount"),
        ({"TABLE_NAME": ""}, "required environment variable TABLE_NAME is not set"),
    ],
)
def test_a_value_outside_the_contract_is_refused_naming_it(
    stacks, change: dict[str, str], message: str
) -> None:
    environment = {**synthesized_environment(stacks["api"]), **change}
    with pytest.raises(config.ConfigError, match=message):
        config.from_env(environment)
