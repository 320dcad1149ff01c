"""Every IAM claim of tests/support/iam_cases/, decided by the IAM evaluator on the synthesized
policies (boundary included), and each shown to hinge on the statement it names: removing
that statement, or planting the one a closed gap would need, flips the decision."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from security.iam_eval.principals import Principal, Roles
from security.iam_eval.requests import Decision, Request
from security.iam_eval.simulator import evaluate
from tests.support.iam_cases import Case, arn
from tests.support.iam_cases.deploy import CASES as DEPLOY_CASES
from tests.support.iam_cases.plan import CASES as PLAN_CASES
from tests.support.iam_cases.runtime import CASES as RUNTIME_CASES

CASES = [*DEPLOY_CASES, *PLAN_CASES, *RUNTIME_CASES]


@pytest.fixture(scope="session")
def roles(stacks: dict[str, dict]) -> Roles:
    return Roles(stacks)


@pytest.fixture(scope="session")
def project_key(stacks: dict[str, dict], roles: Roles) -> tuple[str, dict]:
    """The project key's ARN and policy, as the evaluator needs them for a KMS request."""
    [(name, key)] = stacks["foundation"]["resource"]["aws_kms_key"].items()
    policy = json.loads(roles.addresses.resolve(key["policy"], "foundation"))
    return roles.addresses.attribute("foundation", "aws_kms_key", name, "arn"), policy


@pytest.fixture(scope="session")
def requests(project_key: tuple[str, dict]) -> dict[str, Request]:
    key, policy = project_key
    return {
        c.id: replace(c.request, resource=key, resource_policy=policy)
        if c.key_policy
        else c.request
        for c in CASES
    }


@pytest.fixture(scope="session")
def decisions(roles: Roles, requests) -> dict[str, Decision]:
    """One evaluator run for the whole table."""
    found = evaluate((roles[c.role_name], requests[c.id]) for c in CASES)
    return {case.id: decision for case, decision in zip(CASES, found, strict=True)}


def _variants(principal: Principal, case: Case, request: Request) -> list[tuple[Principal, bool]]:
    """Each planted change of a case, with whether the request must then be allowed."""
    if case.allowed:
        return [(principal.without_statement(case.by), False)]
    widened = principal.with_statement(case.planted_allow(request))
    if case.by is None:
        return [(widened, True)]
    return [(widened, False), (widened.without_statement(case.by), True)]


@pytest.fixture(scope="session")
def planted_decisions(roles: Roles, requests) -> dict[str, list[tuple[Decision, bool]]]:
    """One evaluator run for every case with each of its planted changes."""
    variants = [
        (c, p, expected)
        for c in CASES
        for p, expected in _variants(roles[c.role_name], c, requests[c.id])
    ]
    found = evaluate((p, requests[c.id]) for c, p, _ in variants)
    decided: dict[str, list[tuple[Decision, bool]]] = {}
    for (case, _, expected), decision in zip(variants, found, strict=True):
        decided.setdefault(case.id, []).append((decision, expected))
    return decided


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_evaluator_decides_as_claimed(case: Case, decisions):
    decision = decisions[case.id]
    assert decision.decision != "Error", f"{case.request.describe()}: {decision.errors}"
    assert decision.ignored == (), f"the evaluator cannot judge {decision.ignored}"
    assert decision.allowed == case.allowed, (
        f"{case.role_name}: {case.request.describe()} -> {decision.decision} "
        f"(decided by {decision.deciding})"
    )
    if case.by:
        assert case.by in decision.deciding, decision


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_decision_hinges_on_what_the_case_names(case: Case, planted_decisions):
    for decision, expected in planted_decisions[case.id]:
        assert decision.decision != "Error", decision.errors
        assert decision.allowed == expected, (
            f"{case.role_name}, planted: {case.request.describe()} -> {decision.decision} "
            f"(decided by {decision.deciding})"
        )


def test_the_evaluator_refuses_a_request_it_cannot_judge(roles):
    """An unknown action or an ARN the action does not take is an error, never a deny that a
    "must be denied" case would take for a pass."""
    deploy = roles["cloudagent-dev-github-deploy"]
    unknown, wrong_type = evaluate(
        [
            (deploy, Request("iam:DeleteRoles", arn("iam", "role/x", region=""))),
            (deploy, Request("iam:DeleteRole", arn("s3", "bucket", region="", account=""))),
        ]
    )
    assert unknown.decision == "Error" and wrong_type.decision == "Error"


def test_a_role_that_is_not_synthesized_is_an_error(roles):
    with pytest.raises(KeyError, match="no role named"):
        roles["cloudagent-dev-renamed"]
