"""The admin function: provider keys and the clone token (never read back), stop_all; bad
events are answered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.core import aws

from tests.support.control_api import Env


def invoke(client: Any, event: Any) -> dict[str, Any]:
    return client.lambda_.invoke("admin", event).payload


REPO_TOKEN = (
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
)


def test_set_key_and_key_status(client_without_keys: Any, api_env: Env) -> None:
    client = client_without_keys
    status = invoke(client, {"action": "key_status"})
    assert status == {
        "ok": True,
        "keys": {p: False for p in ("anthropic", "openai", "google", "xai", "openrouter")},
        "repo_token": None,  # private_repos is off
    }
    secret = "sk-ant-test-0123456789"
    out = invoke(client, {"action": "set_provider_key", "provider": "anthropic", "value": secret})
    assert out["ok"] is True and out["provider"] == "anthropic"
    assert secret not in json.dumps(out)
    value = aws.client("secretsmanager").get_secret_value(SecretId=api_env.secret_arns["anthropic"])
    assert value["SecretString"] == secret
    status = invoke(client, {"action": "key_status"})
    assert status["keys"]["anthropic"] is True and status["keys"]["openai"] is False
    assert secret not in json.dumps(status)


@pytest.mark.parametrize(
    "event",
    [
        None,
        "key_status",
        [],
        {},
        {"action": "drop_table"},
        {"action": 5},
        {"action": "key_status", "extra": 1},
        {"action": "set_provider_key", "provider": "anthropic"},
        {"action": "set_provider_key", "provider": "azure", "value": "k"},
        {"action": "set_provider_key", "provider": "openai", "value": ""},
        {"action": "set_provider_key", "provider": "openai", "value": " padded "},
        {"action": "set_provider_key", "provider": "openai", "value": "line\nbreak"},
        {"action": "set_provider_key", "provider": "openai", "value": 42},
        {"action": "set_provider_key", "provider": "openai", "value": "x" * 5000},
        {"action": "set_repo_token"},
        {"action": "set_repo_token", "value": ""},
        {"action": "set_repo_token", "value": 42},
        {"action": "set_repo_token", "value": "sk-ant-not-a-github-token-0123456789"},
        {"action": "set_repo_token", "value": "ghp_ 0123456789abcdefghijklmnopqrstuvwxyz"},
        {"action": "set_repo_token", "value": REPO_TOKEN + "\n"},
        {"action": "set_repo_token", "value": " " + REPO_TOKEN},
        {"action": "set_repo_token", "value": "ghp_short"},
        {"action": "set_repo_token", "value": "ghp_" + "a" * 300},
        {"action": "set_repo_token", "value": REPO_TOKEN, "provider": "openai"},
    ],
)
def test_bad_events_get_an_error_response(client: Any, event: Any) -> None:
    out = invoke(client, event)
    assert out["ok"] is False and out["error"]["code"] == "bad_request"


def test_missing_secret_mapping_is_a_configuration_error(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core import config as cfg

    monkeypatch.delenv("PROVIDER_SECRET_ARNS")
    cfg.reset()
    out = invoke(client, {"action": "set_provider_key", "provider": "xai", "value": "k"})
    assert out["ok"] is False and out["error"]["code"] == "configuration_error"
    assert "PROVIDER_SECRET_ARNS" in out["error"]["message"]
    status = invoke(client, {"action": "key_status"})
    assert status["ok"] is False and "PROVIDER_SECRET_ARNS" in status["error"]["message"]


def test_set_repo_token_and_key_status(client: Any, api_env: Env, repo_token_secret: str) -> None:
    status = invoke(client, {"action": "key_status"})
    assert status["ok"] is True and status["repo_token"] is False
    assert set(status["keys"].values()) == {True}
    out = invoke(client, {"action": "set_repo_token", "value": REPO_TOKEN})
    assert out["ok"] is True and out["version_id"]
    assert out["push_check"] == {
        "checked": [],
        "skipped": "no repository in the setting allowed_repos to check",
    }
    assert REPO_TOKEN not in json.dumps(out)
    value = aws.client("secretsmanager").get_secret_value(SecretId=repo_token_secret)
    assert value["SecretString"] == REPO_TOKEN
    status = invoke(client, {"action": "key_status"})
    assert status["repo_token"] is True and REPO_TOKEN not in json.dumps(status)


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("ghp_" + "A1b2" * 9, "classic personal access token"),
        ("gho_" + "x" * 36, "OAuth app token"),
        ("ghu_" + "x" * 36, "GitHub App user token"),
        ("ghs_" + "x" * 36, "GitHub App installation token"),
        ("ghr_" + "x" * 36, "refresh token"),
    ],
)
def test_set_repo_token_refuses_every_token_but_a_fine_grained_one(
    client: Any, repo_token_secret: str, token: str, kind: str
) -> None:
    out = invoke(client, {"action": "set_repo_token", "value": token})
    assert out["ok"] is False and out["error"]["code"] == "bad_request"
    assert kind in out["error"]["message"] and "github_pat_" in out["error"]["message"]
    assert token not in json.dumps(out)
    assert invoke(client, {"action": "key_status"})["repo_token"] is False


def test_set_repo_token_without_private_repos_names_the_setting(client: Any) -> None:
    out = invoke(client, {"action": "set_repo_token", "value": REPO_TOKEN})
    assert out["ok"] is False and out["error"]["code"] == "configuration_error"
    assert "private_repos" in out["error"]["message"]


def test_aws_failure_is_reported_not_raised(
    client: Any, api_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = aws.client("secretsmanager")

    def boom(**_: Any) -> Any:
        raise RuntimeError("sk-should-not-leak")

    monkeypatch.setattr(sm, "put_secret_value", boom)
    out = invoke(client, {"action": "set_provider_key", "provider": "xai", "value": "sk-x"})
    assert out["ok"] is False and "sk-" not in json.dumps(out)


def test_stop_all_stops_every_recorded_task(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:
    body = json.dumps({"prompt": "p", "provider": "xai", "model": "grok-4"}).encode()
    ids = [client.http.post("/v1/runs", headers=headers, body=body).json_body for _ in range(2)]
    ecs = aws.client("ecs")
    # A task this API did not start is left alone.
    foreign = ecs.run_task(
        cluster=api_env.cluster_arn,
        taskDefinition=api_env.task_definition_arns["xai"],
        launchType="FARGATE",
        startedBy="someone-else",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": api_env.subnets,
                "securityGroups": api_env.security_groups,
            }
        },
    )["tasks"][0]["taskArn"]
    out = invoke(client, {"action": "stop_all"})
    assert out["ok"] is True and out["count"] == 2
    assert sorted(out["stopped"]) == sorted(r["run_id"] for r in ids)
    for r in ids:
        run = client.http.get(f"/v1/runs/{r['run_id']}", headers=headers).json_body
        assert run["status"] == "STOPPING" and run["stop_requested_by"] == "admin:stop_all"
    desc = ecs.describe_tasks(cluster=api_env.cluster_arn, tasks=[foreign])["tasks"][0]
    assert desc["desiredStatus"] == "RUNNING"
