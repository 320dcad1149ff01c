"""Every run ends with a result: runtime_end read from the agent's log stream (on moto, written
as the agent writes it), billed by what the model proxy's stream metered, stored idempotently,
costs split into compute and model; and the patch a run on a repository leaves behind, served
by GET /v1/runs/{id}/patch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from chalicelib.core import aws, times
from chalicelib.persistence import store
from chalicelib.runs import results

from tests.support.control_api import CONTAINER, Env

VALID = {"prompt": "Fix the flaky test", "provider": "openai", "model": "gpt-5"}
REPO = "acme/agents"
SHA = "0123456789abcdef0123456789abcdef01234567"
USAGE = {
    "input_tokens": 1200,
    "output_tokens": 345,
    "cache_read_tokens": 1000,
    "cache_write_tokens": 50,
    "cost_usd": 0.0123,
}
COMPUTE = round(610 / 3600 * 1.08, 4)  # task_event's times: 610 s billed at $1.08/h
# What the model proxy metered for the same run (its proxy_end line).
METERED = {**USAGE, "calls": 3}
ZERO = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "cost_usd": 0,
    "calls": 0,
}


def proxy_end(run_id: str, usage: dict[str, Any] | None = None, exceeded: bool = False) -> str:
    """The model proxy's last line, as it prints it when ECS stops the task."""
    line = {
        "type": "proxy_end",
        "run_id": run_id,
        "usage": usage or METERED,
        "budget_exceeded": exceeded,
    }
    return json.dumps(line, separators=(",", ":"))


def runtime_end(run_id: str, *, patch: dict[str, Any] | None = None, **result: Any) -> str:
    """The entrypoint's last line, compact as it prints it."""
    body = {
        "final_message": "Fixed: the test waited on a real clock.",
        "final_message_truncated": False,
        "stop_reason": "stop",
        "usage": dict(USAGE),
        "tool_calls": 7,
        "duration_seconds": 42.5,
        "patch": patch,
        **result,
    }
    line = {
        "type": "runtime_end",
        "run_id": run_id,
        "ts": "2025-01-01T10:10:09.000Z",
        "exit_code": 0,
        "reason": "agent finished",
        "result": body,
    }
    return json.dumps(line, separators=(",", ":"))


def patch_lines(run_id: str, chunks: list[str]) -> list[str]:
    return [
        json.dumps({"type": "patch", "run_id": run_id, "seq": i, "data": c}, separators=(",", ":"))
        for i, c in enumerate(chunks)
    ]


def patch_meta(parts: list[str], **over: Any) -> dict[str, Any]:
    text = "".join(parts)
    meta = {
        "base_commit": SHA,
        "files_changed": 2,
        "insertions": 3,
        "deletions": 1,
        "bytes": len(text.encode()),
        "chunks": len(parts),
        "truncated": False,
    }
    return {**meta, **over}


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def allowed_repo(monkeypatch: pytest.MonkeyPatch, api_env: Env) -> str:
    """ALLOWED_REPOS as the api stack sets it by default: the configured github_repo."""
    from chalicelib.core import config as cfg

    monkeypatch.setenv("ALLOWED_REPOS", REPO)
    cfg.reset()
    return REPO


def transcript(run_id: str) -> list[str]:
    """The lines before runtime_end, as the entrypoint and pi write them."""
    return [
        json.dumps({"type": "runtime_start", "run_id": run_id}, separators=(",", ":")),
        '{"type":"agent_start"}',
        '{"type":"message_end","message":{"role":"assistant","stopReason":"stop"}}',
        "some stderr line that is not JSON",
        '{"type":"agent_end"}',
    ]


# -- result -------------------------------------------------------------------------------------


def test_result_is_stored_from_the_agent_stream(start_run, agent_log, stop, get_run, api_env):
    run_id, arn = start_run()
    agent_log(arn, [*transcript(run_id), runtime_end(run_id)])
    agent_log(arn, [proxy_end(run_id)], container="model-proxy")
    out = stop(run_id, arn)
    assert out["status"] == "STOPPED" and out["released_slot"] is True
    run = get_run(run_id)
    assert run["result_error"] is None
    assert run["result"] == {
        "final_message": "Fixed: the test waited on a real clock.",
        "final_message_truncated": False,
        "final_message_withheld": False,
        "stop_reason": "stop",
        "usage": METERED,
        "agent_reported_usage": USAGE,
        "budget_exceeded": False,
        "tool_calls": 7,
        "duration_seconds": 42.5,
        "patch": None,
        "patch_error": None,
        "session": None,
    }
    assert run["budget_exceeded"] is False and run["max_cost_usd"] == 25
    assert run["compute_cost_usd"] == pytest.approx(COMPUTE)
    assert run["model_cost_usd"] == pytest.approx(0.0123)
    assert run["estimated_cost_usd"] == pytest.approx(COMPUTE + 0.0123)
    # Floats went into DynamoDB as exact decimals.
    raw = aws.client("dynamodb").get_item(TableName=api_env.table, Key=store.run_key(run_id))
    assert raw["Item"]["result"]["M"]["usage"]["M"]["cost_usd"] == {"N": "0.0123"}


def test_list_leaves_out_the_final_message(start_run, agent_log, stop, client, headers):
    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id)])
    agent_log(arn, [proxy_end(run_id)], container="model-proxy")
    stop(run_id, arn)
    [listed] = client.http.get("/v1/runs", headers=headers).json_body["runs"]
    assert "final_message" not in listed["result"]
    assert listed["result"]["usage"] == METERED and listed["model_cost_usd"] == 0.0123


def test_running_run_has_compute_cost_only(start_run, get_run):
    run_id, _ = start_run()
    run = get_run(run_id)
    assert run["result"] is None and run["model_cost_usd"] is None
    assert run["estimated_cost_usd"] == run["compute_cost_usd"]


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([], "log stream does not exist"),
        (["plain text only"], "no runtime_end event in the log stream"),
        (['{"type":"agent_end"}'], "no runtime_end event at the end"),
        (['{"type":"runtime_end","run_id":"x","result":{"final_'], "not valid JSON"),
        (['{"type":"runtime_end","exit_code":0}'], "no result object"),
        (['{"type":"runtime_end","result":"done"}'], "no result object"),
        (
            ['{"type":"runtime_end","run_id":"run_01AAAAAAAAAAAAAAAAAAAAAAAA","result":{}}'],
            "another run",
        ),
    ],
    ids=[
        "no-stream",
        "no-json",
        "killed",
        "garbage",
        "no-result",
        "result-not-object",
        "other-run",
    ],
)
def test_missing_or_garbage_runtime_end_leaves_a_reason(
    start_run, agent_log, stop, get_run, api_env, lines, reason
):
    run_id, arn = start_run()
    if lines:
        agent_log(arn, lines)
    out = stop(run_id, arn, exit_code=137)
    assert out["status"] == "STOPPED" and out["released_slot"] is True
    run = get_run(run_id)
    assert run["status"] == "STOPPED" and run["exit_code"] == 137
    assert run["result"] is None and reason in run["result_error"]
    # No model-proxy stream: the proxy metered no call (what it meters is billed even without
    # a result; tests/chalice_api/test_metering.py).
    assert run["model_cost_usd"] == 0
    assert run["estimated_cost_usd"] == pytest.approx(COMPUTE)
    assert store.Store(api_env.table).active_count() == 0


def test_stored_values_are_checked_and_clamped(start_run, agent_log, stop, get_run):
    run_id, arn = start_run()
    line = runtime_end(
        run_id,
        final_message="é" * 40_000,  # 80 000 bytes of UTF-8
        stop_reason="x" * 500,
        usage={"input_tokens": -1, "output_tokens": "9", "cache_read_tokens": True, "cost_usd": -2},
        tool_calls=1.5,
        duration_seconds=10**12,
        patch={"base_commit": "not-a-sha", "chunks": "3", "truncated": "yes", "bytes": 10},
        extra_field="dropped",
    )
    agent_log(arn, [line])
    stop(run_id, arn)
    result = get_run(run_id)["result"]
    assert result["final_message_truncated"] is True
    assert len(result["final_message"].encode()) <= results.FINAL_MESSAGE_MAX_BYTES
    assert set(result["final_message"]) == {"é"}  # cut on a character boundary
    assert result["stop_reason"] == "x" * results.STOP_REASON_MAX_CHARS
    assert result["agent_reported_usage"] == {
        "input_tokens": None,
        "output_tokens": None,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "cost_usd": None,
    }
    assert result["usage"] == ZERO  # no model call went through the proxy
    assert result["tool_calls"] is None and result["duration_seconds"] == results.MAX_SECONDS
    assert result["patch"] == {
        "base_commit": None,
        "files_changed": None,
        "insertions": None,
        "deletions": None,
        "bytes": 10,
        "chunks": None,
        "truncated": False,
    }
    assert "extra_field" not in result


def test_redelivered_stopped_event_keeps_the_first_result(start_run, agent_log, stop, get_run):
    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id)])
    stop(run_id, arn)
    first = get_run(run_id)
    agent_log(arn, [runtime_end(run_id, final_message="a different ending")])
    again = stop(run_id, arn)
    assert again["applied"] is False and again["released_slot"] is False
    assert get_run(run_id) == first


def test_a_result_that_arrives_late_is_stored_by_a_later_delivery(
    start_run, agent_log, stop, get_run
):
    run_id, arn = start_run()
    stop(run_id, arn)
    assert get_run(run_id)["result_error"] == "the run's log stream does not exist"
    agent_log(arn, [runtime_end(run_id)])
    stop(run_id, arn)
    run = get_run(run_id)
    assert run["result"]["tool_calls"] == 7 and run["result_error"] is None


def test_reaper_reads_the_result_of_a_run_whose_event_was_lost(start_run, agent_log, get_run):
    from chalicelib.runs.deployment import current as service

    run_id, arn = start_run()
    agent_log(arn, [runtime_end(run_id)])
    svc = service()
    svc.ecs.running_tasks = lambda: iter([])  # type: ignore[method-assign]
    svc.ecs.describe = lambda arns: []  # type: ignore[method-assign]
    assert svc.reap()["reconciled"] == [{"run_id": run_id, "status": "STOPPED"}]
    run = get_run(run_id)
    assert run["status"] == "STOPPED" and run["result"]["agent_reported_usage"] == USAGE


def test_reaper_retries_a_result_that_was_not_there_at_stop(start_run, agent_log, stop, get_run):
    from chalicelib.runs.deployment import current as service

    run_id, arn = start_run()
    now = times.now_iso()
    stop(run_id, arn, stopped_at=now)
    assert get_run(run_id)["result"] is None
    agent_log(arn, [runtime_end(run_id)])
    out = service().reap()
    assert {"run_id": run_id, "status": "STOPPED", "result": "stored"} in out["reconciled"]
    assert get_run(run_id)["result"]["tool_calls"] == 7


def test_a_result_error_never_fails_the_transition(
    start_run, stop, get_run, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib.runs.deployment import current as service

    run_id, arn = start_run()

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("logs are down")

    monkeypatch.setattr(service().logs, "tail", boom)
    assert stop(run_id, arn)["status"] == "STOPPED"
    run = get_run(run_id)
    assert run["status"] == "STOPPED" and "RuntimeError" in run["result_error"]


def test_a_runtime_end_split_by_the_log_driver_is_joined(start_run, agent_log, stop, get_run):
    run_id, arn = start_run()
    line = runtime_end(run_id, final_message="y" * 40_000)
    parts = [line[i : i + 16384] for i in range(0, len(line), 16384)]
    assert len(parts) == 3 and not parts[1].startswith("{")
    agent_log(arn, [*parts, "trailing stderr line"])
    stop(run_id, arn)
    assert get_run(run_id)["result"]["final_message"] == "y" * 40_000


# -- repo and ref -------------------------------------------------------------------------------


def test_repo_and_ref_reach_the_task_and_the_record(
    allowed_repo, client, headers, run_task_calls, get_run
):
    body = {**VALID, "repo": "Acme/Agents", "ref": "feature/login-fix"}
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode())
    assert resp.status_code == 202, resp.body
    [call] = run_task_calls
    env = {e["name"]: e["value"] for e in call["overrides"]["containerOverrides"][0]["environment"]}
    assert env["AGENT_REPO_URL"] == "https://github.com/Acme/Agents.git"
    assert env["AGENT_REPO_REF"] == "feature/login-fix"
    run = get_run(resp.json_body["run_id"])
    assert run["repo"] == "Acme/Agents" and run["ref"] == "feature/login-fix"


def test_repo_without_ref_and_run_without_repo(
    allowed_repo, client, headers, run_task_calls, get_run
):
    for body in ({**VALID, "repo": REPO}, VALID):
        assert client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode())
    envs = [
        {e["name"] for e in c["overrides"]["containerOverrides"][0]["environment"]}
        for c in run_task_calls
    ]
    assert "AGENT_REPO_URL" in envs[0] and "AGENT_REPO_REF" not in envs[0]
    assert not {"AGENT_REPO_URL", "AGENT_REPO_REF"} & envs[1]


def error_of(resp: Any, status: int) -> dict[str, str]:
    assert resp.status_code == status, resp.body
    body = json.loads(resp.body)
    assert set(body) == {"error"} and "Traceback" not in resp.body.decode()
    return body["error"]


def test_repo_outside_the_allow_list_names_the_setting(allowed_repo, client, headers):
    body = {**VALID, "repo": "evil/agents"}
    err = error_of(
        client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode()), 400
    )
    assert "allowed_repos" in err["message"] and "evil/agents" in err["message"]
    assert client.http.get("/v1/runs", headers=headers).json_body["runs"] == []


def test_no_repo_is_allowed_when_the_setting_is_unset(client, headers, monkeypatch):
    monkeypatch.delenv("ALLOWED_REPOS", raising=False)
    body = {**VALID, "repo": REPO}
    err = error_of(
        client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode()), 400
    )
    assert "allowed_repos" in err["message"]


@pytest.mark.parametrize(
    "repo",
    [
        "acme",
        "acme/",
        "/agents",
        "acme/agents/extra",
        "-acme/agents",
        "acme-/agents",
        "ac--me/agents",
        "a" * 40 + "/agents",
        "acme/" + "a" * 101,
        "acme/.",
        "acme/..",
        "acme/agents.git",
        "acme/ag ents",
        "acme/agents\n",
        "https://github.com/acme/agents",
        "acme/agents;rm",
        5,
        None,
        ["acme/agents"],
    ],
)
def test_malformed_repos_are_400(allowed_repo, client, headers, repo):
    body = {**VALID, "repo": repo}
    err = error_of(
        client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode()), 400
    )
    assert "repo" in err["message"]


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "-b",
        "--upload-pack=evil",
        "+main",
        "a..b",
        "main/",
        "/main",
        "a//b",
        "main.",
        ".hidden",
        "a/.b",
        "main.lock",
        "a.lock/b",
        "a b",
        "a\tb",
        "a\x7fb",
        "a~1",
        "a^2",
        "a:b",
        "a?",
        "a*",
        "a[1]",
        "a\\b",
        "@",
        "a@{1}",
        "x" * 256,
        "é",
        7,
    ],
)
def test_malformed_refs_are_400(allowed_repo, client, headers, ref):
    body = {**VALID, "repo": REPO, "ref": ref}
    err = error_of(
        client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode()), 400
    )
    assert "ref" in err["message"]


@pytest.mark.parametrize("ref", ["main", "release/1.2", "v1.2.3", SHA, "HEAD", "fix_bug-2+x"])
def test_good_refs_are_accepted(allowed_repo, client, headers, ref):
    body = {**VALID, "repo": REPO, "ref": ref}
    assert (
        client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode()).status_code
        == 202
    )


def test_ref_needs_repo(allowed_repo, client, headers):
    body = {**VALID, "ref": "main"}
    err = error_of(
        client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode()), 400
    )
    assert "ref needs repo" in err["message"]


def test_idempotency_covers_repo_and_ref(allowed_repo, client, headers):
    h = {**headers, "Idempotency-Key": "issue-7"}
    body = {**VALID, "repo": REPO, "ref": "main"}
    first = client.http.post("/v1/runs", headers=h, body=json.dumps(body).encode())
    again = client.http.post("/v1/runs", headers=h, body=json.dumps(body).encode())
    assert first.json_body["run_id"] == again.json_body["run_id"]
    for changed in ({**body, "ref": "dev"}, {**VALID, "repo": REPO}, VALID):
        resp = client.http.post("/v1/runs", headers=h, body=json.dumps(changed).encode())
        assert resp.status_code == 409, changed


def test_longest_repo_and_ref_stay_within_the_overrides_budget(
    monkeypatch, api_env, client, headers, run_task_calls
):
    from chalicelib.cloud.ecs import ECS_OVERRIDES_LIMIT, overrides_size
    from chalicelib.core import config as cfg

    repo = "o" * 39 + "/" + "n" * 100
    monkeypatch.setenv("ALLOWED_REPOS", repo)
    cfg.reset()
    # The repository reaches the agent and the clone container, the cap the model proxy, and
    # the agent a presigned URL to save its session with: with the longest repo and ref and
    # these tests' short credentials there is room for 6000 characters (with a Lambda's
    # session token about 4800: test_continuation.py).
    body = {**VALID, "prompt": "p" * 6000, "repo": repo, "ref": "r" * 255, "max_cost_usd": 24.5}
    post = lambda b: client.http.post("/v1/runs", headers=headers, body=json.dumps(b).encode())  # noqa: E731
    assert post(body).status_code == 202
    [call] = run_task_calls
    assert [c["name"] for c in call["overrides"]["containerOverrides"]] == [
        "agent",
        "model-proxy",
        "repo-init",
    ]
    assert overrides_size(call["overrides"]) <= ECS_OVERRIDES_LIMIT
    # A prompt that fits without a repository does not with one: the check counts all three.
    body["prompt"] = "p" * 7000
    assert post({k: v for k, v in body.items() if k not in ("repo", "ref")}).status_code == 202
    err = error_of(post(body), 413)  # refused before anything is written
    assert str(ECS_OVERRIDES_LIMIT) in err["message"] and "all its containers" in err["message"]
    assert len(client.http.get("/v1/runs", headers=headers).json_body["runs"]) == 2


def test_allowed_repos_setting_is_checked(api_env):
    from chalicelib.core import config as cfg

    s = cfg.from_env({**api_env.env, "ALLOWED_REPOS": " Acme/Agents , acme/other "})
    assert s.allowed_repos == frozenset({"acme/agents", "acme/other"})
    assert cfg.from_env(api_env.env).allowed_repos == frozenset()
    with pytest.raises(cfg.ConfigError, match="ALLOWED_REPOS"):
        cfg.from_env({**api_env.env, "ALLOWED_REPOS": "https://github.com/acme/agents"})


# -- patch --------------------------------------------------------------------------------------


@pytest.fixture
def patch_of(client: Any, headers: dict[str, str]) -> Callable[[str], Any]:
    return lambda run_id: client.http.get(f"/v1/runs/{run_id}/patch", headers=headers)


def test_patch_before_and_after_stop_multi_chunk(
    allowed_repo, start_run, agent_log, stop, patch_of
):
    run_id, arn = start_run(repo=REPO)
    # Three chunks of ~200 KB each, the last shorter - assembled in seq order.
    chunks = [
        "diff --git a/f b/f\n" + "+" + "a" * 200_000 + "\n",
        "+" + "b" * 200_000 + "\n",
        "+c\n",
    ]
    lines = [*transcript(run_id), *patch_lines(run_id, chunks)]
    agent_log(arn, [*lines, runtime_end(run_id, patch=patch_meta(chunks))])

    err = error_of(patch_of(run_id), 404)
    assert "STARTING" in err["message"] and "stopped" in err["message"]

    stop(run_id, arn)
    resp = patch_of(run_id)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/x-diff")
    assert resp.headers["X-Patch-Base-Commit"] == SHA
    assert resp.headers["X-Patch-Truncated"] == "false"
    assert resp.body.decode() == "".join(chunks)


def test_patch_assembly_reads_backwards_over_pages(api_env, agent_log):
    from chalicelib.cloud.logs import LogReader

    run_id = "run_01HZZZZZZZZZZZZZZZZZZZZZZZ"
    arn = "arn:aws:ecs:us-east-1:123456789012:task/c/abc123"
    chunks = [f"chunk {i}\n" for i in range(7)]
    noise = ['{"type":"message_end"}'] * 30
    agent_log(arn, [*noise, *patch_lines(run_id, chunks), runtime_end(run_id)])
    reader = LogReader(api_env.log_group)
    stream = f"agent/{CONTAINER}/abc123"
    calls = []
    pages = reader.tail(stream, max_pages=50, limit=3)
    text = results.assemble_patch((calls.append(1) or p for p in pages), run_id, len(chunks))
    assert text == "".join(chunks)
    assert len(calls) == 3  # stopped once seq 0 was found, never read the noise
    with pytest.raises(results.PatchIncomplete) as exc:
        results.assemble_patch(reader.tail(stream, max_pages=50, limit=3), run_id, 9)
    assert exc.value.missing == [7, 8]


def test_patch_with_a_missing_chunk_is_404(allowed_repo, start_run, agent_log, stop, patch_of):
    run_id, arn = start_run(repo=REPO)
    chunks = ["a\n", "b\n", "c\n"]
    lines = patch_lines(run_id, chunks)
    agent_log(arn, [lines[0], lines[2], runtime_end(run_id, patch=patch_meta(chunks))])
    stop(run_id, arn)
    err = error_of(patch_of(run_id), 404)
    assert "missing" in err["message"] and "seq 1" in err["message"]


def test_no_patch_when_no_change_or_no_result(allowed_repo, start_run, agent_log, stop, patch_of):
    no_change, arn = start_run(repo=REPO)
    agent_log(arn, [runtime_end(no_change, patch=None)])
    stop(no_change, arn)
    assert "no repository or made no change" in error_of(patch_of(no_change), 404)["message"]

    lost, arn = start_run(repo=REPO)
    stop(lost, arn)
    assert "log stream does not exist" in error_of(patch_of(lost), 404)["message"]
    assert error_of(patch_of("run_00000000000000000000000000"), 404)["message"] == "run not found"


def test_a_patch_too_large_for_one_response_points_to_events(
    allowed_repo, start_run, agent_log, stop, patch_of
):
    run_id, arn = start_run(repo=REPO)
    meta = patch_meta(["x"], bytes=results.PATCH_RESPONSE_MAX_BYTES + 1, chunks=30)
    agent_log(arn, [runtime_end(run_id, patch=meta)])
    stop(run_id, arn)
    err = error_of(patch_of(run_id), 413)
    assert err["code"] == "patch_too_large" and f"/v1/runs/{run_id}/events" in err["message"]


# -- reaper hardening ---------------------------------------------------------------------------


def test_reaper_clamps_a_raised_runtime_limit(start_run, api_env, get_run):
    from chalicelib.runs.deployment import current as service

    run_id, _ = start_run(max_runtime_seconds=60)
    svc = service()
    svc.store.set_fields(run_id, {"max_runtime_seconds": 10**9})
    assert svc.reap(now=time.time() + 7200)["stopped"] == []
    [stopped] = svc.reap(now=time.time() + 7200 + 30 + 5)["stopped"]
    assert stopped["run_id"] == run_id
    assert "exceeded max runtime 7200s + grace 30s" in get_run(run_id)["reaped_reason"]


def test_reaper_skips_and_logs_a_malformed_record(start_run, api_env, get_run, caplog):
    from chalicelib.runs.deployment import current as service

    bad_id, _ = start_run(max_runtime_seconds=60)
    good_id, _ = start_run(max_runtime_seconds=60)
    ddb = aws.client("dynamodb")
    # A record the reaper cannot read: a binary attribute and a set where it expects text.
    ddb.update_item(
        TableName=api_env.table,
        Key=store.run_key(bad_id),
        UpdateExpression="SET #s = :s, junk_bytes = :b",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"SS": ["RUNNING"]}, ":b": {"B": b"\x00"}},
    )
    # And an item that is not a run record at all, planted in the listing index.
    ddb.put_item(
        TableName=api_env.table,
        Item={
            "pk": {"S": "RUN#junk"},
            "sk": {"S": "RUN"},
            "gsi1pk": {"S": "RUNS"},
            "gsi1sk": {"S": "9999#junk"},
            "max_runtime_seconds": {"S": "forever"},
        },
    )
    with caplog.at_level("WARNING"):
        out = service().reap(now=time.time() + 60 + 30 + 5)
    assert [s["run_id"] for s in out["stopped"]] == [good_id]
    assert bad_id in out["skipped"]
    assert "reaper skipped run " + bad_id in caplog.text
    assert get_run(good_id)["status"] in ("STOPPING", "STOPPED")
