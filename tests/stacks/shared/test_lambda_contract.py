"""The control Lambda's environment contract (stacks/shared/lambda_contract.py), stacks side.

The api stack's variables are checked against the declaration at synth; the ranges in it agree
with the entrypoint and ECS. The Lambda side (parsing the synthesized environment) is tested in
tests/chalice_api/test_environment_contract.py.
"""

from __future__ import annotations

import re

import pytest

from stacks.shared.constants import AGENT_STOP_GRACE_MAX_SECONDS, AGENT_STOP_GRACE_SECONDS
from stacks.shared.lambda_contract import (
    DECLARED,
    RULES,
    EnvironmentContractError,
    check_environment,
)
from tests.support.synthesized import resources
from toolchain.paths import PROJECT_ROOT


def _control_environment(stack: dict) -> dict[str, str]:
    functions = resources(stack, "aws_lambda_function")
    envs = [f["environment"]["variables"] for f in functions]
    assert envs and all(env == envs[0] for env in envs), "every control function, one environment"
    return envs[0]


def test_every_declared_variable_has_a_known_rule_and_a_feeder() -> None:
    for name, var in DECLARED.items():
        assert var.rule in RULES, name
        assert var.fed_by, name
        if var.rule in ("int", "usd"):
            assert var.min is not None and var.max is not None, name
        if var.rule == "choice":
            assert var.choices, name
        if var.default is not None:
            assert check_environment_value(name, var.default), name


def _required_values() -> dict[str, str]:
    return {n: ("5" if v.rule == "int" else "x") for n, v in DECLARED.items() if v.required}


def check_environment_value(name: str, value: str) -> bool:
    try:
        check_environment({**_required_values(), name: value})
    except EnvironmentContractError:
        return False
    return True


@pytest.mark.parametrize("configuration", ["default", "nat_observe", "egress_off"])
def test_the_synthesized_environment_keeps_the_contract(
    configuration: str, stacks: dict[str, dict], variant_stacks
) -> None:
    api = stacks["api"] if configuration == "default" else variant_stacks(configuration)["api"]
    env = _control_environment(api)
    assert set(env) <= set(DECLARED)
    assert {n for n, v in DECLARED.items() if v.required} <= set(env)
    assert check_environment(env) == env


def test_undeclared_missing_and_out_of_range_variables_stop_synth() -> None:
    good = _required_values()
    assert check_environment(good) == good
    with pytest.raises(EnvironmentContractError, match="undeclared MAX_RUNS"):
        check_environment({**good, "MAX_RUNS": "5"})
    with pytest.raises(EnvironmentContractError, match="required but not set TABLE_NAME"):
        check_environment({k: v for k, v in good.items() if k != "TABLE_NAME"})
    with pytest.raises(EnvironmentContractError, match="MAX_CONCURRENT_RUNS='500' outside"):
        check_environment({**good, "MAX_CONCURRENT_RUNS": "500"})
    with pytest.raises(EnvironmentContractError, match="AGENT_STOP_GRACE_SECONDS='600'"):
        check_environment({**good, "AGENT_STOP_GRACE_SECONDS": "600"})
    with pytest.raises(EnvironmentContractError, match="CAPACITY='spotty'"):
        check_environment({**good, "CAPACITY": "spotty"})
    for cap in ("0", "1000.5", "2.505", "-1", "nan", "25 USD"):
        with pytest.raises(EnvironmentContractError, match=f"MAX_RUN_COST_USD='{cap}' outside"):
            check_environment({**good, "MAX_RUN_COST_USD": cap})
    assert check_environment({**good, "MAX_RUN_COST_USD": "0.01"})
    # A value only Terraform knows is left to the Lambda's own parse.
    assert check_environment({**good, "MAX_CONCURRENT_RUNS": "${var.x}"})


def test_stop_grace_range_agrees_with_the_entrypoint_and_ecs() -> None:
    """0-120 everywhere: ECS caps stopTimeout at 120 s, and so does the entrypoint."""
    grace = DECLARED["AGENT_STOP_GRACE_SECONDS"]
    assert (grace.min, grace.max) == (0, AGENT_STOP_GRACE_MAX_SECONDS) == (0, 120)
    assert grace.default == str(AGENT_STOP_GRACE_SECONDS)
    config_js = (PROJECT_ROOT / "image" / "lib" / "config.js").read_text()
    assert re.search(r"const MAX_GRACE = (\d+);", config_js).group(1) == str(grace.max)
    assert re.search(r"const DEFAULT_GRACE = (\d+);", config_js).group(1) == grace.default


def test_ranges_and_words_come_from_the_settings_that_feed_them() -> None:
    assert (DECLARED["MAX_CONCURRENT_RUNS"].min, DECLARED["MAX_CONCURRENT_RUNS"].max) == (1, 100)
    assert DECLARED["CAPACITY"].choices == ("on-demand", "spot", "spot-then-on-demand")
    assert DECLARED["EGRESS_MODE"].choices == ("enforce", "observe", "off")
    cap = DECLARED["MAX_RUN_COST_USD"]
    assert (cap.rule, cap.min, cap.max, cap.default) == ("usd", 0.01, 1000.0, "25")


def test_the_sidecars_and_the_repo_families_are_declared() -> None:
    """The control plane overrides each container by name and picks the `-repo` family for runs
    with a repository; both are the agent stack's to say."""
    assert DECLARED["REPO_TASK_DEFINITION_ARNS"].required
    assert DECLARED["REPO_TASK_DEFINITION_ARNS"].keys == DECLARED["TASK_DEFINITION_ARNS"].keys
    assert DECLARED["MODEL_PROXY_CONTAINER_NAME"].default == "model-proxy"
    assert DECLARED["REPO_INIT_CONTAINER_NAME"].default == "repo-init"
