"""Routes end to end through Chalice's test client, with moto behind the app."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chalicelib.cloud.ecs import ECS_OVERRIDES_LIMIT
from chalicelib.core import aws
from chalicelib.core import config as cfg
from chalicelib.core.ids import RUN_ID_RE
from chalicelib.http.openapi import document
from chalicelib.http.validation import MAX_PROMPT_CHARS

from tests.support.control_api import CONTAINER, EXEC_ROLE_ARN, Env

VALID = {"prompt": "Fix the failing test", "provider": "anthropic", "model": "claude-sonnet-4"}


def post(client: Any, path: str, body: Any, headers: dict[str, str]) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.http.post(path, headers=headers, body=raw)


def assert_error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.body
    body = json.loads(resp.body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert "Traceback" not in resp.body.decode()
    return body["error"]


def test_health_needs_no_auth(client: Any) -> None:
    resp = client.http.get("/v1/health")
    assert resp.status_code == 200
    assert resp.json_body == {"status": "ok", "version": "1.2.3", "stage": "test"}


def test_openapi_document_is_served(client: Any) -> None:
    resp = client.http.get("/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.json_body == document()
    assert resp.json_body["openapi"].startswith("3.")


def test_openapi_document_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(document())


def test_openapi_matches_the_app_routes() -> None:
    import app as app_module

    routes = {
        (path, method.lower())
        for path, methods in app_module.app.routes.items()
        for method in methods
    }
    documented = {
        (path.replace("{id}", "{run_id}"), method)
        for path, ops in document()["paths"].items()
        for method in ops
    }
    assert routes == documented


def test_create_get_list_run(client: Any, headers: dict[str, str], run_task_calls: list) -> None:
    resp = post(client, "/v1/runs", {**VALID, "max_runtime_seconds": 600}, headers)
    assert resp.status_code == 202, resp.body
    run_id = resp.json_body["run_id"]
    assert RUN_ID_RE.fullmatch(run_id) and len(run_id) <= 36
    assert resp.json_body["status"] == "STARTING"

    [call] = run_task_calls
    # capacity on-demand (the default): the FARGATE provider, no launch type.
    assert "launchType" not in call
    assert call["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert call["clientToken"] == run_id
    assert call["startedBy"] == run_id
    assert call["enableExecuteCommand"] is False
    # A headless run keeps the task definition's task role, the one that may do nothing.
    assert "taskRoleArn" not in call["overrides"]
    vpc = call["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["assignPublicIp"] == "DISABLED" and vpc["subnets"] and vpc["securityGroups"]
    # No repository: the family without the clone container; the agent and its model proxy.
    assert call["taskDefinition"].endswith("/cloudagent-agent-anthropic")
    agent, proxy = call["overrides"]["containerOverrides"]
    assert agent["name"] == CONTAINER and proxy["name"] == "model-proxy"
    env = {e["name"]: e["value"] for e in agent["environment"]}
    assert env == {
        "JOB_PROMPT": VALID["prompt"],
        "AGENT_PROVIDER": "anthropic",
        "AGENT_MODEL": "claude-sonnet-4",
        "AGENT_MAX_RUNTIME_SECONDS": "600",
        "RUN_ID": run_id,
    }
    proxy_env = {e["name"]: e["value"] for e in proxy["environment"]}
    assert proxy_env == {"RUN_ID": run_id, "MODEL_PROXY_MAX_COST_USD": "25"}

    got = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert got["run_id"] == run_id and got["prompt"] == VALID["prompt"]
    assert got["task_arn"].startswith("arn:aws:ecs:")
    assert got["created_by"] == "repo:acme/agents:environment:prod"
    for key in (
        "started_at",
        "stopped_at",
        "duration_seconds",
        "compute_cost_usd",
        "model_cost_usd",
        "estimated_cost_usd",
        "result",
        "result_error",
        "repo",
        "ref",
    ):
        assert key in got
    assert got["repo"] is None and got["result"] is None

    listed = client.http.get("/v1/runs", headers=headers).json_body
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    assert "prompt" not in listed["runs"][0]


def test_list_is_newest_first_and_paged(client: Any, headers: dict[str, str]) -> None:
    ids = [post(client, "/v1/runs", VALID, headers).json_body["run_id"] for _ in range(5)]
    seen: list[str] = []
    token = None
    while True:
        path = "/v1/runs?limit=2" + (f"&next_token={token}" if token else "")
        page = client.http.get(path, headers=headers).json_body
        assert len(page["runs"]) <= 2
        seen += [r["run_id"] for r in page["runs"]]
        token = page["next_token"]
        if not token:
            break
    assert seen == list(reversed(ids))


@pytest.mark.parametrize(
    "token", ["x", "e30", "bm90IGpzb24", "eyJwayI6IlJVTiN4In0", "a" * 2000, "%00"]
)
def test_list_refuses_forged_tokens(client: Any, headers: dict[str, str], token: str) -> None:
    assert_error(client.http.get(f"/v1/runs?next_token={token}", headers=headers), 400)


def test_session_returns_the_exec_command(
    client: Any, headers: dict[str, str], run_task_calls: list, api_env: Env
) -> None:
    resp = post(client, "/v1/sessions", {}, headers)
    assert resp.status_code == 202, resp.body
    body = resp.json_body
    assert body["exec_command"] == (
        f"aws ecs execute-command --cluster {api_env.cluster_arn} --task {body['task_arn']} "
        f"--container {CONTAINER} --interactive --command /bin/bash"
    )
    [call] = run_task_calls
    assert call["enableExecuteCommand"] is True
    # Only a session runs as the exec role (ECS Exec's rights); moto, as `make up`'s ECS,
    # accepts and records the override.
    assert call["overrides"]["taskRoleArn"] == EXEC_ROLE_ARN
    [task] = aws.client("ecs").describe_tasks(
        cluster=api_env.cluster_arn, tasks=[body["task_arn"]]
    )["tasks"]
    assert task["overrides"]["taskRoleArn"] == EXEC_ROLE_ARN
    env = {e["name"] for e in call["overrides"]["containerOverrides"][0]["environment"]}
    assert "JOB_PROMPT" not in env
    got = client.http.get(f"/v1/runs/{body['run_id']}", headers=headers).json_body
    assert got["kind"] == "session" and got["exec_command"] == body["exec_command"]


def test_session_with_empty_body_and_with_model(client: Any, headers: dict[str, str]) -> None:
    assert client.http.post("/v1/sessions", headers=headers).status_code == 202
    resp = post(client, "/v1/sessions", {"provider": "openai", "model": "gpt-5"}, headers)
    assert resp.status_code == 202
    assert_error(post(client, "/v1/sessions", {"provider": "openai"}, headers), 400)


@pytest.mark.parametrize(
    "body",
    [
        {**VALID, "extra": 1},
        {"provider": "anthropic", "model": "m"},
        {**VALID, "prompt": 5},
        {**VALID, "prompt": "   "},
        {**VALID, "prompt": "a\x00b"},
        {**VALID, "provider": "azure"},
        {**VALID, "provider": ["anthropic"]},
        {**VALID, "model": "bad model"},
        {**VALID, "model": "claude\n"},
        {**VALID, "model": ""},
        {**VALID, "model": "-flag"},
        {**VALID, "max_runtime_seconds": 0},
        {**VALID, "max_runtime_seconds": 7201},
        {**VALID, "max_runtime_seconds": "60"},
        {**VALID, "max_runtime_seconds": 60.0},
        {**VALID, "max_runtime_seconds": True},
        [VALID],
        "just a string",
        None,
    ],
)
def test_bad_bodies_are_400(client: Any, headers: dict[str, str], body: Any) -> None:
    assert_error(post(client, "/v1/runs", body, headers), 400)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"not json",
        b"\xff\xfe",
        b'{"prompt": NaN}',
        b'{"prompt": "a", "prompt": "b", "provider": "xai", "model": "grok"}',
        b"[" * 50_000,
        b'{"prompt": "\\ud800", "provider": "xai", "model": "grok"}',
    ],
)
def test_malformed_json_is_400(client: Any, headers: dict[str, str], raw: bytes) -> None:
    assert_error(post(client, "/v1/runs", raw, headers), 400)


def test_prompt_over_the_ecs_override_limit_is_413(client: Any, headers: dict[str, str]) -> None:
    # Fits the field's length cap but JSON escaping pushes the overrides over 8 KiB.
    body = {**VALID, "prompt": "a\n" * (MAX_PROMPT_CHARS // 2 - 50)}
    err = assert_error(post(client, "/v1/runs", body, headers), 413)
    assert str(ECS_OVERRIDES_LIMIT) in err["message"]
    assert_error(post(client, "/v1/runs", {**VALID, "prompt": "a" * 9000}, headers), 413)
    assert_error(post(client, "/v1/runs", b"{" + b" " * 70_000 + b"}", headers), 413)
    # Nothing was written for refused requests.
    assert client.http.get("/v1/runs", headers=headers).json_body["runs"] == []


def test_largest_accepted_prompt_fits_ecs(client: Any, headers: dict[str, str], run_task_calls):
    from chalicelib.cloud.ecs import overrides_size

    # The model proxy's overrides (its run id and cap) take about 150 of ECS's 8192.
    body = {**VALID, "prompt": "x" * (MAX_PROMPT_CHARS - 550)}
    assert post(client, "/v1/runs", body, headers).status_code == 202
    assert overrides_size(run_task_calls[0]["overrides"]) <= ECS_OVERRIDES_LIMIT


def test_unknown_query_params_and_bad_limits(client: Any, headers: dict[str, str]) -> None:
    for q in ("?foo=1", "?limit=0", "?limit=101", "?limit=abc", "?limit=-1"):
        assert_error(client.http.get(f"/v1/runs{q}", headers=headers), 400)


def test_unknown_and_malformed_run_ids_are_404(client: Any, headers: dict[str, str]) -> None:
    for rid in ("run_00000000000000000000000000", "nope", "run_" + "Z" * 27):
        assert_error(client.http.get(f"/v1/runs/{rid}", headers=headers), 404)
        assert_error(client.http.get(f"/v1/runs/{rid}/events", headers=headers), 404)
        assert_error(client.http.get(f"/v1/runs/{rid}/patch", headers=headers), 404)
        assert_error(post(client, f"/v1/runs/{rid}/stop", {}, headers), 404)


def test_wrong_content_type_is_a_json_error(client: Any, headers: dict[str, str]) -> None:
    h = {**headers, "Content-Type": "text/plain"}
    err = assert_error(post(client, "/v1/runs", VALID, h), 415)
    assert err["code"] == "unsupported_media_type"


def test_stop_run(client: Any, headers: dict[str, str], api_env: Env) -> None:

    run_id = post(client, "/v1/runs", VALID, headers).json_body["run_id"]
    resp = post(client, f"/v1/runs/{run_id}/stop", {}, headers)
    assert resp.status_code == 202 and resp.json_body["status"] == "STOPPING"
    run = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
    assert run["stop_requested_by"] == "repo:acme/agents:environment:prod"
    task = aws.client("ecs").describe_tasks(cluster=api_env.cluster_arn, tasks=[run["task_arn"]])
    assert task["tasks"][0]["desiredStatus"] == "STOPPED"


def test_events_are_paged_from_the_agent_stream(
    client: Any, headers: dict[str, str], api_env: Env
) -> None:

    run = post(client, "/v1/runs", VALID, headers).json_body
    got = client.http.get(f"/v1/runs/{run['run_id']}/events", headers=headers).json_body
    assert got["events"] == [] and got["end_of_stream"] is True  # no stream yet

    arn = client.http.get(f"/v1/runs/{run['run_id']}", headers=headers).json_body["task_arn"]
    logs = aws.client("logs")
    stream = f"agent/{CONTAINER}/{arn.rsplit('/', 1)[-1]}"
    logs.create_log_stream(logGroupName=api_env.log_group, logStreamName=stream)
    now_ms = int(time.time() * 1000)
    lines = [json.dumps({"type": "runtime_start", "n": i}) for i in range(3)] + ["plain text"]
    logs.put_log_events(
        logGroupName=api_env.log_group,
        logStreamName=stream,
        logEvents=[{"timestamp": now_ms + i, "message": m} for i, m in enumerate(lines)],
    )
    messages: list[str] = []
    token = None
    for _ in range(10):
        path = f"/v1/runs/{run['run_id']}/events?limit=2" + (
            f"&next_token={token}" if token else ""
        )
        page = client.http.get(path, headers=headers).json_body
        messages += [e["message"] for e in page["events"]]
        if page["events"]:
            assert page["events"][0].get("data", {}).get("type") in ("runtime_start", None)
        if page["end_of_stream"]:
            break
        token = page["next_token"]
    assert messages == lines


def test_missing_config_fails_loudly_with_the_name(
    client: Any, monkeypatch: pytest.MonkeyPatch, api_env: Env
) -> None:
    monkeypatch.delenv("TABLE_NAME")
    cfg.reset()
    err = assert_error(client.http.get("/v1/health"), 500)
    assert "TABLE_NAME" in err["message"]
    with pytest.raises(cfg.ConfigError, match="CLUSTER_ARN"):
        cfg.from_env({"TABLE_NAME": "t"})
    with pytest.raises(cfg.ConfigError, match="MAX_CONCURRENT_RUNS"):
        cfg.from_env({**api_env.env, "MAX_CONCURRENT_RUNS": "many"})


def test_oidc_defaults() -> None:
    env = {
        k: "x"
        for k in (
            "TABLE_NAME",
            "CLUSTER_ARN",
            "CONTAINER_NAME",
            "SUBNET_IDS",
            "SECURITY_GROUP_IDS",
            "LOG_GROUP_NAME",
            "OIDC_AUDIENCE",
            "OIDC_ALLOWED_SUBJECTS",
            "OIDC_REF",
            "OIDC_JOB_WORKFLOW_REFS",
            "ARTIFACT_BUCKET",
        )
    }
    arns = json.dumps({p: f"arn:aws:x:{p}" for p in cfg.PROVIDERS})
    s = cfg.from_env(
        {
            **env,
            "MAX_CONCURRENT_RUNS": "3",
            "CLUSTER_ARN": "arn:aws:ecs:us-east-1:123456789012:cluster/x",  # the contract's rule
            "TASK_DEFINITION_ARNS": arns,
            "REPO_TASK_DEFINITION_ARNS": arns,
            "EXEC_TASK_ROLE_ARN": EXEC_ROLE_ARN,
            "PROVIDER_SECRET_ARNS": arns,
        }
    )
    assert s.oidc_issuer == "https://token.actions.githubusercontent.com"
    assert s.oidc_jwks_url == "https://token.actions.githubusercontent.com/.well-known/jwks"
    assert s.stop_grace_seconds == 30 and s.origin_verify_secret_arn is None
    assert not s.origin_verify_off and s.repo_token_secret_arn is None
    assert s.oidc_repository_id is None
