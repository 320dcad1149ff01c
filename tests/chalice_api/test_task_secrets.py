"""Per-provider task definitions, and the 409 for a secret the task would inject but is unset.

A run (or session) whose provider key - or, with private_repos, the clone token - has no value
is refused before anything is written: no record, no slot, no idempotency claim, no RunTask.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.cloud import key_check
from chalicelib.core import aws
from chalicelib.core import config as cfg
from chalicelib.persistence import store

from tests.support.control_api import Env

RUN = {"prompt": "Write a haiku", "provider": "openai", "model": "gpt-5"}


def post(client: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.http.post(path, headers=headers, body=json.dumps(body).encode())


def set_key(api_env: Env, provider: str) -> None:
    aws.client("secretsmanager").put_secret_value(
        SecretId=api_env.secret_arns[provider], SecretString=f"sk-{provider}-0123"
    )


def nothing_recorded(client: Any, headers: dict[str, str], api_env: Env) -> None:
    assert client.http.get("/v1/runs", headers=headers).json_body["runs"] == []
    assert store.Store(api_env.table).active_count() == 0


def task_of(api_env: Env, run: dict[str, Any], client: Any, headers: dict[str, str]) -> dict:
    record = client.http.get(f"/v1/runs/{run['run_id']}", headers=headers).json_body
    [task] = aws.client("ecs").describe_tasks(
        cluster=api_env.cluster_arn, tasks=[record["task_arn"]]
    )["tasks"]
    return task


# -- one task definition per provider ----------------------------------------------------------


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google", "xai", "openrouter"])
def test_run_task_uses_the_task_definition_of_the_runs_provider(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    run_task_calls: list[dict[str, Any]],
    provider: str,
) -> None:
    resp = post(client, "/v1/runs", {**RUN, "provider": provider}, headers)
    assert resp.status_code == 202, resp.body
    [call] = run_task_calls
    assert call["taskDefinition"] == api_env.task_definition_arns[provider]
    task = task_of(api_env, resp.json_body, client, headers)
    assert task["taskDefinitionArn"].startswith(api_env.task_definition_arns[provider] + ":")


def test_session_with_a_provider_uses_its_task_definition(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    resp = post(client, "/v1/sessions", {"provider": "xai", "model": "grok-4"}, headers)
    assert resp.status_code == 202, resp.body
    task = task_of(api_env, resp.json_body, client, headers)
    assert task["taskDefinitionArn"].startswith(api_env.task_definition_arns["xai"] + ":")


def test_session_without_a_provider_takes_the_first_provider_whose_key_is_set(
    client_without_keys: Any, headers: dict[str, str], api_env: Env
) -> None:
    client = client_without_keys
    set_key(api_env, "openrouter")
    set_key(api_env, "google")  # before openrouter in the providers' order
    resp = client.http.post("/v1/sessions", headers=headers)
    assert resp.status_code == 202, resp.body
    task = task_of(api_env, resp.json_body, client, headers)
    assert task["taskDefinitionArn"].startswith(api_env.task_definition_arns["google"] + ":")
    run = client.http.get(f"/v1/runs/{resp.json_body['run_id']}", headers=headers).json_body
    assert (run["provider"], run["model"]) == ("google", None)


# -- provider keys ------------------------------------------------------------------------------


def test_run_with_an_unset_key_is_409_and_nothing_is_recorded(
    client_without_keys: Any,
    headers: dict[str, str],
    api_env: Env,
    run_task_calls: list[dict[str, Any]],
) -> None:
    client = client_without_keys
    set_key(api_env, "anthropic")  # another provider's key does not help
    h = {**headers, "Idempotency-Key": "first-try"}
    resp = post(client, "/v1/runs", RUN, h)
    assert resp.status_code == 409
    error = resp.json_body["error"]
    assert error["code"] == "provider_key_not_set"
    assert "openai" in error["message"] and '"action": "set_provider_key"' in error["message"]
    assert '"provider": "openai"' in error["message"]
    assert run_task_calls == []
    nothing_recorded(client, headers, api_env)
    # Once the key is set the same request (and key: it was never claimed) starts the run.
    set_key(api_env, "openai")
    resp = post(client, "/v1/runs", RUN, h)
    assert resp.status_code == 202, resp.body
    assert resp.headers.get("Idempotent-Replayed") is None
    assert resp.json_body["status"] in ("STARTING", "RUNNING")
    assert len(run_task_calls) == 1


def test_session_with_no_key_set_is_409(
    client_without_keys: Any, headers: dict[str, str], api_env: Env
) -> None:
    resp = client_without_keys.http.post("/v1/sessions", headers=headers)
    assert resp.status_code == 409
    assert resp.json_body["error"]["code"] == "provider_key_not_set"
    assert "set_provider_key" in resp.json_body["error"]["message"]
    resp = post(client_without_keys, "/v1/sessions", {"provider": "xai", "model": "g"}, headers)
    assert resp.status_code == 409 and "xai" in resp.json_body["error"]["message"]
    nothing_recorded(client_without_keys, headers, api_env)


def test_a_secret_scheduled_for_deletion_counts_as_unset(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    aws.client("secretsmanager").delete_secret(
        SecretId=api_env.secret_arns["openai"], RecoveryWindowInDays=7
    )
    resp = post(client, "/v1/runs", RUN, headers)
    assert resp.status_code == 409
    assert resp.json_body["error"]["code"] == "provider_key_not_set"


def test_a_failing_describe_secret_is_503_not_500_and_records_nothing(
    client: Any, headers: dict[str, str], api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(**_: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "DescribeSecret")

    monkeypatch.setattr(aws.client("secretsmanager"), "describe_secret", denied)
    resp = post(client, "/v1/runs", RUN, headers)
    assert resp.status_code == 503
    assert resp.json_body["error"]["code"] == "unavailable"
    assert "AccessDenied" not in json.dumps(resp.json_body)
    nothing_recorded(client, headers, api_env)


def test_a_missing_secret_is_503(
    client: Any, headers: dict[str, str], api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    arns = {**api_env.secret_arns, "openai": api_env.secret_arns["openai"] + "-gone"}
    monkeypatch.setenv("PROVIDER_SECRET_ARNS", json.dumps(arns))
    cfg.reset()
    assert post(client, "/v1/runs", RUN, headers).status_code == 503


def test_only_positive_answers_are_cached(
    client_without_keys: Any, headers: dict[str, str], api_env: Env
) -> None:
    calls: list[str] = []
    sm = aws.client("secretsmanager")
    sm.meta.events.register(
        "provide-client-params.secrets-manager.DescribeSecret",
        lambda params, **_: calls.append(params["SecretId"]),
    )
    client = client_without_keys
    assert post(client, "/v1/runs", RUN, headers).status_code == 409
    assert post(client, "/v1/runs", RUN, headers).status_code == 409
    assert len(calls) == 2  # a "not set" is asked again every time
    set_key(api_env, "openai")
    for _ in range(3):
        assert post(client, "/v1/runs", RUN, headers).status_code == 202
    assert len(calls) == 3  # "set" is remembered for CACHE_SECONDS
    key_check.reset()
    assert post(client, "/v1/runs", RUN, headers).status_code == 202
    assert len(calls) == 4


# -- the clone token (private_repos) -------------------------------------------------------------


def test_unset_repo_token_refuses_only_runs_with_a_repository(
    client: Any,
    headers: dict[str, str],
    api_env: Env,
    repo_token_secret: str,
    run_task_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOWED_REPOS", "acme/agents")
    cfg.reset()
    with_repo = {**RUN, "repo": "acme/agents"}
    resp = post(client, "/v1/runs", with_repo, headers)
    assert resp.status_code == 409
    error = resp.json_body["error"]
    assert error["code"] == "repo_token_not_set"
    assert '"action": "set_repo_token"' in error["message"]
    assert "private_repos" in error["message"]
    assert run_task_calls == []
    nothing_recorded(client, headers, api_env)
    # Only the clone container of a run with a repository holds the token: the others start.
    assert post(client, "/v1/runs", RUN, headers).status_code == 202
    assert post(client, "/v1/sessions", {}, headers).status_code == 202
    token = "github_pat_" + "A1" * 41
    out = client.lambda_.invoke("admin", {"action": "set_repo_token", "value": token}).payload
    assert out["ok"] is True
    assert post(client, "/v1/runs", with_repo, headers).status_code == 202


def test_provider_key_is_reported_before_the_repo_token(
    client_without_keys: Any, headers: dict[str, str], repo_token_secret: str
) -> None:
    resp = post(client_without_keys, "/v1/runs", RUN, headers)
    assert resp.json_body["error"]["code"] == "provider_key_not_set"


# -- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "arn:aws:ecs:us-east-1:1:task-definition/x",
        "[]",
        json.dumps({"openai": "arn:aws:ecs:x"}),
        json.dumps({p: "arn:aws:ecs:x" for p in (*cfg.PROVIDERS, "azure")}),
        json.dumps({p: "" for p in cfg.PROVIDERS}),
        json.dumps({p: 5 for p in cfg.PROVIDERS}),
    ],
)
def test_task_definition_arns_must_map_exactly_the_providers(
    api_env: Env, value: str | None
) -> None:
    env = {k: v for k, v in api_env.env.items() if k != "TASK_DEFINITION_ARNS"}
    if value is not None:
        env["TASK_DEFINITION_ARNS"] = value
    with pytest.raises(cfg.ConfigError, match="TASK_DEFINITION_ARNS"):
        cfg.from_env(env)


def test_the_single_task_definition_variable_is_gone(api_env: Env) -> None:
    env = {k: v for k, v in api_env.env.items() if k != "TASK_DEFINITION_ARNS"}
    env["TASK_DEFINITION_ARN"] = next(iter(api_env.task_definition_arns.values()))
    with pytest.raises(cfg.ConfigError, match="TASK_DEFINITION_ARNS"):
        cfg.from_env(env)
