"""A run's model spend cap: asked for with ``max_cost_usd``, at most the deployment's setting
``max_run_cost_usd`` (MAX_RUN_COST_USD), recorded on the run and handed to the model proxy;
and which task family each kind of run starts, with which container overrides."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from chalicelib.core import config as cfg

from tests.support.control_api import Env

RUN = {"prompt": "Write a haiku", "provider": "xai", "model": "grok-4"}


def post(client: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.http.post(path, headers=headers, body=json.dumps(body).encode())


def environments(call: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Container name -> its environment overrides, from one RunTask request."""
    return {
        c["name"]: {e["name"]: e["value"] for e in c["environment"]}
        for c in call["overrides"]["containerOverrides"]
    }


@pytest.mark.parametrize(
    ("asked", "passed", "recorded"),
    [(None, "25", 25), (2.5, "2.5", 2.5), (25, "25", 25), (0.1234567, "0.123456", 0.123456)],
)
def test_the_cap_reaches_the_model_proxy_and_the_record(
    client: Any, headers: dict[str, str], run_task_calls: list, asked, passed, recorded
) -> None:
    body = RUN if asked is None else {**RUN, "max_cost_usd": asked}
    resp = post(client, "/v1/runs", body, headers)
    assert resp.status_code == 202, resp.body
    run_id = resp.json_body["run_id"]
    [call] = run_task_calls
    assert environments(call)["model-proxy"] == {
        "RUN_ID": run_id,
        "MODEL_PROXY_MAX_COST_USD": passed,
    }
    got = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert got["max_cost_usd"] == pytest.approx(recorded) and got["budget_exceeded"] is None


@pytest.mark.parametrize("asked", [25.000001, 26, 10**30])
def test_a_cap_above_the_setting_is_refused_naming_it(
    client: Any, headers: dict[str, str], run_task_calls: list, asked: Any
) -> None:
    resp = post(client, "/v1/runs", {**RUN, "max_cost_usd": asked}, headers)
    assert resp.status_code == 400
    message = resp.json_body["error"]["message"]
    assert "at most 25 USD" in message and "max_run_cost_usd" in message
    assert run_task_calls == []
    assert client.http.get("/v1/runs", headers=headers).json_body["runs"] == []


@pytest.mark.parametrize("asked", [0, -1, 0.0000001, "5", True, None, [1], {"usd": 1}])
def test_a_cap_that_is_not_a_positive_number_is_refused(
    client: Any, headers: dict[str, str], asked: Any
) -> None:
    resp = post(client, "/v1/runs", {**RUN, "max_cost_usd": asked}, headers)
    assert resp.status_code == 400
    assert resp.json_body["error"]["message"].startswith("max_cost_usd must be a number of USD")


def test_the_limit_follows_the_setting(
    client: Any, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_RUN_COST_USD", "2.50")
    cfg.reset()
    assert post(client, "/v1/runs", {**RUN, "max_cost_usd": 2.5}, headers).status_code == 202
    resp = post(client, "/v1/runs", {**RUN, "max_cost_usd": 2.51}, headers)
    assert "at most 2.5 USD" in resp.json_body["error"]["message"]


def test_idempotency_covers_the_cap(client: Any, headers: dict[str, str]) -> None:
    h = {**headers, "Idempotency-Key": "cap-1"}
    first = post(client, "/v1/runs", {**RUN, "max_cost_usd": 3}, h)
    again = post(client, "/v1/runs", {**RUN, "max_cost_usd": 3.0}, h)
    assert first.json_body["run_id"] == again.json_body["run_id"]
    assert post(client, "/v1/runs", {**RUN, "max_cost_usd": 4}, h).status_code == 409
    assert post(client, "/v1/runs", RUN, h).status_code == 409


def test_a_session_gets_the_setting_and_no_clone_container(
    client: Any, headers: dict[str, str], run_task_calls: list, api_env: Env
) -> None:
    resp = post(client, "/v1/sessions", {"provider": "xai", "model": "grok-4"}, headers)
    assert resp.status_code == 202, resp.body
    [call] = run_task_calls
    assert call["taskDefinition"] == api_env.task_definition_arns["xai"]
    envs = environments(call)
    assert set(envs) == {"agent", "model-proxy"}
    assert envs["model-proxy"]["MODEL_PROXY_MAX_COST_USD"] == "25"
    refused = post(client, "/v1/sessions", {"max_cost_usd": 1}, headers)
    assert refused.status_code == 400 and "unknown field" in refused.json_body["error"]["message"]


def test_a_run_with_a_repository_starts_the_family_with_the_clone(
    client: Any,
    headers: dict[str, str],
    run_task_calls: list,
    api_env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOWED_REPOS", "acme/agents")
    cfg.reset()
    body = {**RUN, "repo": "acme/agents", "ref": "main"}
    run_id = post(client, "/v1/runs", body, headers).json_body["run_id"]
    [call] = run_task_calls
    repo_families = json.loads(api_env.env["REPO_TASK_DEFINITION_ARNS"])
    assert call["taskDefinition"] == repo_families["xai"]
    assert call["taskDefinition"].endswith("/cloudagent-agent-xai-repo")
    envs = environments(call)
    url = "https://github.com/acme/agents.git"
    assert envs["repo-init"] == {"RUN_ID": run_id, "AGENT_REPO_URL": url, "AGENT_REPO_REF": "main"}
    # The agent still learns the repository (it waits for the clone's handoff), no token.
    assert envs["agent"]["AGENT_REPO_URL"] == url
    assert not any("TOKEN" in name for env in envs.values() for name in env)


def test_the_repository_families_are_required(api_env: Env) -> None:
    """Runs with a repository need the families with the clone container: a Lambda without
    them refuses to configure itself rather than start such a run with the wrong family."""
    env = {k: v for k, v in api_env.env.items() if k != "REPO_TASK_DEFINITION_ARNS"}
    with pytest.raises(cfg.ConfigError, match="REPO_TASK_DEFINITION_ARNS is not set"):
        cfg.from_env(env)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e3", "1.1234567", "25 USD", "0.000000"])
def test_a_bad_max_run_cost_is_refused_naming_the_variable(api_env: Env, value: str) -> None:
    with pytest.raises(cfg.ConfigError, match="MAX_RUN_COST_USD must be a positive decimal"):
        cfg.from_env({**api_env.env, "MAX_RUN_COST_USD": value})


def test_the_new_variables_have_their_defaults(api_env: Env) -> None:
    env = {
        k: v
        for k, v in api_env.env.items()
        if k
        not in (
            "MAX_RUN_COST_USD",
            "MODEL_PROXY_CONTAINER_NAME",
            "REPO_INIT_CONTAINER_NAME",
        )
    }
    parsed = cfg.from_env(env)
    assert parsed.max_run_cost_usd == Decimal(25)
    assert (parsed.model_proxy_container_name, parsed.repo_init_container_name) == (
        "model-proxy",
        "repo-init",
    )
    with pytest.raises(cfg.ConfigError, match="REPO_TASK_DEFINITION_ARNS"):
        cfg.from_env({**env, "REPO_TASK_DEFINITION_ARNS": json.dumps({"xai": "arn:aws:x"})})
