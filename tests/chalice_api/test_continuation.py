"""Continuing a stopped run (``continue_from``): the parent's checks, the bundle its task starts
from (every patch of the chain, oldest first, and the parent's saved session), the presigned
URLs each container gets - and only that container - and one running continuation per parent.

The agent's side is played as the image plays it: its log stream carries ``repo_ready``, the
``patch`` events and ``runtime_end``; it saves its session with a PUT to the URL in its own
overrides, and repo-init reads the bundle with a GET of the URL in its overrides (moto answers
both, in-process).
"""

from __future__ import annotations

import base64
import json
import random
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import requests
from chalicelib.core import aws
from chalicelib.core import config as cfg
from chalicelib.persistence import store
from chalicelib.runs import bundle as bundles
from chalicelib.runs import continuation, deployment
from chalicelib.runs.request import RunRequest

from tests.support.control_api import ARTIFACT_BUCKET, CONTAINER, REGION, Env

REPO = "acme/agents"
VALID = {"prompt": "Fix the flaky test", "provider": "openai", "model": "gpt-5", "repo": REPO}
ROOT = "0123456789abcdef0123456789abcdef01234567"
SYNTHETIC = "fedcba9876543210fedcba9876543210fedcba98"
SESSION = (
    '{"type":"session","version":3,"id":"s1"}\n'
    '{"type":"message","id":"m1","parentId":null,"message":{"role":"user"}}\n'
    '{"type":"message","id":"m2","parentId":"m1","message":{"role":"assistant"}}\n'
)
AGENT, PROXY, REPO_INIT = CONTAINER, "model-proxy", "repo-init"
URL_VARIABLES = ("AGENT_SESSION_UPLOAD_URL", "AGENT_CONTINUE_URL")


@pytest.fixture(autouse=True)
def allowed_repo(monkeypatch: pytest.MonkeyPatch, api_env: Env) -> str:
    monkeypatch.setenv("ALLOWED_REPOS", REPO)
    cfg.reset()
    return REPO


# -- the agent's side ---------------------------------------------------------------------------


def line(**event: Any) -> str:
    return json.dumps(event, separators=(",", ":"))


def agent_lines(
    run_id: str,
    chunks: list[str] | None = None,
    *,
    base: str = ROOT,
    truncated: bool = False,
    chain: dict[str, str] | None = None,
    **result: Any,
) -> list[str]:
    """What the entrypoint writes for a run with a repository: repo_ready first, the patch
    events and runtime_end (its result's patch meta from ``chunks``, with a continuation's
    ``chain`` fields) last."""
    meta = None
    if chunks:
        text = "".join(chunks)
        meta = {
            "base_commit": base,
            "files_changed": 1,
            "insertions": 1,
            "deletions": 0,
            "bytes": len(text.encode()),
            "chunks": len(chunks),
            "truncated": truncated,
            **(chain or {}),
        }
    body = {"final_message": "done", "stop_reason": "stop", "patch": meta, **result}
    return [
        line(type="runtime_start", run_id=run_id),
        line(
            type="repo_ready",
            run_id=run_id,
            repo=f"https://github.com/{REPO}.git",
            base_commit=base,
        ),
        '{"type":"agent_end"}',
        *[line(type="patch", run_id=run_id, seq=i, data=c) for i, c in enumerate(chunks or [])],
        line(type="runtime_end", run_id=run_id, exit_code=0, result=body),
    ]


def overrides_of(api_env: Env, arn: str) -> dict[str, dict[str, str]]:
    """Each container's environment overrides, as ECS holds them for the task."""
    [task] = aws.client("ecs").describe_tasks(cluster=api_env.cluster_arn, tasks=[arn])["tasks"]
    return {
        c["name"]: {e["name"]: e["value"] for e in c.get("environment", [])}
        for c in task["overrides"]["containerOverrides"]
    }


def stored(key: str) -> bytes:
    return aws.client("s3").get_object(Bucket=ARTIFACT_BUCKET, Key=key)["Body"].read()


@pytest.fixture
def finish(
    api_env: Env, agent_log: Callable[..., None], stop: Callable[..., dict[str, Any]]
) -> Callable[..., None]:
    """``finish(run_id, arn, chunks, save=...)``: the run's agent writes its log (and PUTs the
    session text ``save`` with its own upload URL), then its task stops; other keywords go to
    ``agent_lines``."""

    def run(
        run_id: str,
        arn: str,
        chunks: list[str] | None = None,
        *,
        save: str | None = None,
        **kw: Any,
    ) -> None:
        if save is not None:
            url = overrides_of(api_env, arn)[AGENT]["AGENT_SESSION_UPLOAD_URL"]
            resp = requests.put(
                url, data=save.encode(), headers={"Content-Type": "application/x-ndjson"}
            )
            assert resp.status_code == 200, resp.text
        agent_log(arn, agent_lines(run_id, chunks, **kw))
        assert stop(run_id, arn)["status"] == "STOPPED"

    return run


@pytest.fixture
def post(client: Any, headers: dict[str, str]) -> Callable[..., Any]:
    """POST /v1/runs with VALID (less the repo) plus ``extra``; ``key`` as Idempotency-Key."""

    def send(key: str | None = None, **extra: Any) -> Any:
        h = {**headers, **({"Idempotency-Key": key} if key else {})}
        body = {**{k: v for k, v in VALID.items() if k != "repo"}, **extra}
        return client.http.post("/v1/runs", headers=h, body=json.dumps(body).encode())

    return send


@pytest.fixture
def continue_run(post: Callable[..., Any], get_run: Callable[[str], Any]) -> Callable[..., Any]:
    """``continue_run(parent)``: a 202 continuation; returns (run id, task ARN)."""

    def go(parent: str, **extra: Any) -> tuple[str, str]:
        resp = post(continue_from=parent, **extra)
        assert resp.status_code == 202, resp.body
        assert resp.json_body["status"] == "STARTING", resp.json_body
        run_id = resp.json_body["run_id"]
        return run_id, get_run(run_id)["task_arn"]

    return go


def bundle_of(api_env: Env, arn: str) -> dict[str, Any]:
    """The bundle as the task's repo-init reads it: a GET of the URL in its overrides."""
    resp = requests.get(overrides_of(api_env, arn)[REPO_INIT]["AGENT_CONTINUE_URL"])
    assert resp.status_code == 200, resp.text
    return json.loads(resp.content)


def error_of(resp: Any, status: int) -> str:
    assert resp.status_code == status, resp.body
    return str(resp.json_body["error"]["message"])


# -- a continuation -----------------------------------------------------------------------------


def test_a_continuation_starts_from_the_root_with_the_patch_and_the_session(
    api_env, start_run, finish, continue_run, get_run
):
    parent, arn = start_run(ref="main")
    chunks = ["diff --git a/f b/f\n+a\n", "+é ünïcode\n"]
    finish(parent, arn, chunks, save=SESSION)

    child, child_arn = continue_run(parent)
    run = get_run(child)
    assert run["parent_run_id"] == parent and run["root_commit"] == ROOT
    assert run["repo"] == REPO and run["ref"] == "main"  # the chain's first ref, shown
    assert get_run(parent)["parent_run_id"] is None and get_run(parent)["root_commit"] is None

    assert bundle_of(api_env, child_arn) == {
        "format": 1,
        "run_id": child,
        "parent_run_id": parent,
        "repo": f"https://github.com/{REPO}.git",
        "root_commit": ROOT,
        "patches": [{"run_id": parent, "patch": "".join(chunks)}],
        "session": SESSION,
        "session_note": None,
    }
    assert json.loads(stored(f"continuations/{child}.json"))["run_id"] == child


def test_each_container_gets_only_its_own_url(api_env, start_run, finish, continue_run):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    child, child_arn = continue_run(parent)
    env = overrides_of(api_env, child_arn)
    # Both clone the parent's repository at the chain's root commit.
    for name in (AGENT, REPO_INIT):
        assert env[name]["AGENT_REPO_URL"] == f"https://github.com/{REPO}.git"
        assert env[name]["AGENT_REPO_REF"] == ROOT
    # The agent saves its session; repo-init alone reads the bundle; the proxy gets neither.
    assert set(URL_VARIABLES) & set(env[AGENT]) == {"AGENT_SESSION_UPLOAD_URL"}
    assert set(URL_VARIABLES) & set(env[REPO_INIT]) == {"AGENT_CONTINUE_URL"}
    assert not set(URL_VARIABLES) & set(env[PROXY])
    assert f"/sessions/{child}.jsonl?" in env[AGENT]["AGENT_SESSION_UPLOAD_URL"]
    assert f"/continuations/{child}.json?" in env[REPO_INIT]["AGENT_CONTINUE_URL"]


def test_every_run_with_a_repository_saves_its_session_and_no_other_run_gets_a_url(
    api_env, client, headers, start_run
):
    _, arn = start_run()
    env = overrides_of(api_env, arn)
    assert set(URL_VARIABLES) & set(env[AGENT]) == {"AGENT_SESSION_UPLOAD_URL"}
    assert not set(URL_VARIABLES) & (set(env[REPO_INIT]) | set(env[PROXY]))
    assert "AGENT_REPO_REF" not in env[AGENT]  # a first run clones the default branch

    body = {k: v for k, v in VALID.items() if k != "repo"}
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode())
    plain = client.http.get(f"/v1/runs/{resp.json_body['run_id']}", headers=headers).json_body
    session = client.http.post("/v1/sessions", headers=headers, body=b"{}").json_body
    for task_arn in (plain["task_arn"], session["task_arn"]):
        for variables in overrides_of(api_env, task_arn).values():
            assert not set(URL_VARIABLES) & set(variables)


def test_presigned_urls_are_regional_virtual_hosted_and_last_the_run(api_env, start_run):
    _, arn = start_run(max_runtime_seconds=600)
    url = urllib.parse.urlsplit(overrides_of(api_env, arn)[AGENT]["AGENT_SESSION_UPLOAD_URL"])
    query = urllib.parse.parse_qs(url.query)
    # us-east-1 too: the regional name is the one the DNS Firewall allows.
    assert url.scheme == "https" and url.netloc == f"{ARTIFACT_BUCKET}.s3.{REGION}.amazonaws.com"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["host"]  # no Content-Type to get wrong
    grace = 30  # AGENT_STOP_GRACE_SECONDS
    assert query["X-Amz-Expires"] == [str(600 + grace + continuation.URL_START_ALLOWANCE_SECONDS)]
    assert continuation.URL_START_ALLOWANCE_SECONDS == 900


def test_with_an_endpoint_override_the_urls_are_path_style_on_it(
    api_env, start_run, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566")
    aws.reset()
    deployment.reset()
    _, arn = start_run()
    url = overrides_of(api_env, arn)[AGENT]["AGENT_SESSION_UPLOAD_URL"]
    assert url.startswith(f"http://127.0.0.1:4566/{ARTIFACT_BUCKET}/sessions/run_")


# -- the parent's checks ------------------------------------------------------------------------


def test_a_parent_that_does_not_exist_is_404(post):
    missing = "run_00000000000000000000000000"
    assert error_of(post(continue_from=missing), 404) == f"run {missing} not found (continue_from)"


def test_a_parent_without_a_repository_is_400(client, headers, post, stop, get_run):
    body = {k: v for k, v in VALID.items() if k != "repo"}
    plain = client.http.post("/v1/runs", headers=headers, body=json.dumps(body).encode())
    session = client.http.post("/v1/sessions", headers=headers, body=b"{}")
    for run_id in (plain.json_body["run_id"], session.json_body["run_id"]):
        stop(run_id, get_run(run_id)["task_arn"])
        assert error_of(post(continue_from=run_id), 400) == (
            f"run {run_id} has no repository; only a run with a repository can be continued"
        )


def test_a_running_parent_is_409(api_env, client, start_run, post):
    from tests.support.control_api import task_event

    parent, arn = start_run()
    client.lambda_.invoke("task_state", task_event(api_env, parent, arn, "RUNNING"))
    assert error_of(post(continue_from=parent), 409) == (
        f"run {parent} is RUNNING; only a stopped run can be continued"
    )


def test_a_parent_whose_result_is_not_read_is_409_retry(start_run, stop, post):
    parent, arn = start_run()
    stop(parent, arn)  # no log stream yet: result null, read again later
    message = error_of(post(continue_from=parent), 409)
    assert "has no result yet" in message and "retry" in message


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("truncated", "truncated at the agent's cap"),
        ("missing_chunk", "1 of 2 chunk(s) are missing from the log stream (seq 1)"),
        ("patch_error", "could not collect its patch (git diff failed: boom)"),
    ],
)
def test_a_parent_whose_patch_is_not_whole_is_409(
    kind, expected, api_env, start_run, agent_log, stop, finish, post
):
    parent, arn = start_run()
    if kind == "truncated":
        finish(parent, arn, ["+a\n"], truncated=True)
    elif kind == "patch_error":
        finish(parent, arn, None, patch_error="git diff failed: boom")
    else:
        lines = agent_lines(parent, ["+a\n", "+b\n"])
        agent_log(arn, [x for x in lines if '"seq":1' not in x])
        stop(parent, arn)
    assert expected in error_of(post(continue_from=parent), 409)
    assert store.Store(api_env.table).active_count() == 0  # nothing taken


def test_the_repo_must_be_the_parents_and_no_ref_may_be_given(start_run, finish, post):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    assert "repo must be acme/agents" in error_of(
        post(continue_from=parent, repo="acme/other"), 400
    )
    assert post(continue_from=parent, repo="ACME/Agents").status_code == 202  # case-insensitive
    message = error_of(post(continue_from=parent, repo=REPO, ref="main"), 400)
    assert "ref must not be given with continue_from" in message
    assert "ref must not be given" in error_of(post(continue_from=parent, ref="main"), 400)
    assert "continue_from must be a run id" in error_of(post(continue_from="run_x"), 400)


def test_a_parent_that_changed_nothing_starts_from_its_clone_commit(
    api_env, start_run, finish, continue_run, get_run
):
    parent, arn = start_run()
    finish(parent, arn, None, base=ROOT)  # no patch: the root comes from repo_ready
    child, child_arn = continue_run(parent)
    assert get_run(child)["root_commit"] == ROOT
    bundle = bundle_of(api_env, child_arn)
    assert bundle["patches"] == [] and bundle["root_commit"] == ROOT


# -- the session --------------------------------------------------------------------------------


def test_without_a_saved_session_the_bundle_says_why(api_env, start_run, finish, continue_run):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])  # the agent saved nothing
    _, child_arn = continue_run(parent)
    bundle = bundle_of(api_env, child_arn)
    assert bundle["session"] is None
    assert bundle["session_note"] == f"run {parent} saved no session"


def test_a_session_over_the_cap_is_not_read(
    api_env, start_run, finish, continue_run, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(bundles, "SESSION_MAX_BYTES", 64)
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"], save=SESSION)  # an agent that ignored the cap
    bundle = bundle_of(api_env, continue_run(parent)[1])
    assert bundle["session"] is None and "over the 64-byte cap" in bundle["session_note"]


def test_an_unreadable_artifact_bucket_is_503_with_nothing_recorded(
    api_env, start_run, finish, post
):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    s3 = aws.client("s3")
    s3.delete_bucket(Bucket=ARTIFACT_BUCKET)
    assert "artifact bucket could not be read (NoSuchBucket)" in error_of(
        post(continue_from=parent), 503
    )
    assert store.Store(api_env.table).active_count() == 0


# -- one running continuation per parent --------------------------------------------------------


def test_one_running_continuation_per_parent_until_it_stops(
    api_env, start_run, finish, continue_run, post, stop
):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    child, child_arn = continue_run(parent)
    assert error_of(post(continue_from=parent), 409) == (
        f"run {parent} already has a continuation running: {child}; retry once it stopped"
    )
    stop(child, child_arn)  # lazily released by the next continuation
    second, _ = continue_run(parent)
    record = store.Store(api_env.table).get_run(parent)
    assert record["active_continuation"] == second


def test_a_continuation_named_on_the_parent_whose_record_is_gone_is_released(
    api_env, start_run, finish, continue_run
):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    table = store.Store(api_env.table)
    table.set_fields(parent, {"active_continuation": "run_00000000000000000000000000"})
    child, _ = continue_run(parent)
    assert table.get_run(parent)["active_continuation"] == child


def test_concurrent_continuations_of_one_parent_start_one(
    api_env, start_run, finish, atomic_dynamodb: None
):
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.core.errors import ApiError

    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    settings = cfg.from_env({**api_env.env, "ALLOWED_REPOS": REPO})
    req = RunRequest(
        prompt="p", provider="openai", model="gpt-5", max_runtime_seconds=60, continue_from=parent
    )

    def one(_: int) -> str:
        try:
            return deployment.Runs(settings).create("sub", req, None, interactive=False)[0][
                "status"
            ]
        except ApiError as exc:
            return str(exc.status)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(one, range(4)))
    assert outcomes == ["409", "409", "409", "STARTING"]
    assert store.Store(api_env.table).active_count() == 1


# -- chains -------------------------------------------------------------------------------------


def test_a_chain_of_three_carries_every_patch_in_order(
    api_env, start_run, finish, continue_run, get_run
):
    first, arn = start_run()
    finish(first, arn, ["+first\n"], save=SESSION)
    second, arn = continue_run(first)
    longer = SESSION + '{"type":"message","id":"m3","parentId":"m2"}\n'
    finish(second, arn, ["+second\n"], base=SYNTHETIC, save=longer)
    third, arn = continue_run(second)
    bundle = bundle_of(api_env, arn)
    assert [p["run_id"] for p in bundle["patches"]] == [first, second]
    assert bundle["session"] == longer  # the newest conversation: the parent's
    finish(third, arn, None, base=SYNTHETIC)  # the third changed nothing: no patch of its own
    fourth, arn = continue_run(third)

    assert get_run(fourth)["root_commit"] == ROOT and get_run(fourth)["parent_run_id"] == third
    bundle = bundle_of(api_env, arn)
    assert [p["run_id"] for p in bundle["patches"]] == [first, second]
    assert [p["patch"] for p in bundle["patches"]] == ["+first\n", "+second\n"]
    assert bundle["root_commit"] == ROOT and bundle["parent_run_id"] == third
    assert bundle["session_note"] == f"run {third} saved no session"


def test_a_chain_whose_parent_bundle_expired_is_409(api_env, start_run, finish, continue_run, post):
    first, arn = start_run()
    finish(first, arn, ["+first\n"])
    second, arn = continue_run(first)
    finish(second, arn, ["+second\n"], base=SYNTHETIC)
    aws.client("s3").delete_object(Bucket=ARTIFACT_BUCKET, Key=f"continuations/{second}.json")
    message = error_of(post(continue_from=second), 409)
    assert f"continuations/{second}.json" in message and "artifact_retention_days" in message


def test_the_result_passes_the_chain_and_the_session_through(
    start_run, finish, continue_run, get_run
):
    first, arn = start_run()
    finish(first, arn, ["+a\n"])
    second, arn = continue_run(first)
    saved = {"saved": True, "bytes": len(SESSION), "messages": 2, "truncated": False}
    chain = {"parent_run_id": first, "root_commit": ROOT}
    finish(second, arn, ["+b\n"], base=SYNTHETIC, chain=chain, save=SESSION, session=saved)
    result = get_run(second)["result"]
    assert result["patch"]["base_commit"] == SYNTHETIC
    assert result["patch"]["parent_run_id"] == first and result["patch"]["root_commit"] == ROOT
    assert result["session"] == saved
    # A first run's patch has neither field; a forged one is nulled like any wrong type.
    assert "parent_run_id" not in get_run(first)["result"]["patch"]


# -- idempotency, failures, size ----------------------------------------------------------------


def test_a_replayed_continuation_answers_the_same_run(api_env, start_run, finish, post):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    first = post(key="cont-1", continue_from=parent)
    again = post(key="cont-1", continue_from=parent)
    assert first.status_code == again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json_body["run_id"] == again.json_body["run_id"]
    assert store.Store(api_env.table).active_count() == 1
    # continue_from is part of the request: the same key without it is another request.
    assert post(key="cont-1", repo=REPO).status_code == 409


def test_canonical_includes_continue_from_only_when_given():
    plain = RunRequest(prompt="p", provider="openai", model="gpt-5", max_runtime_seconds=60)
    assert "continue_from" not in plain.canonical()
    cont = RunRequest(
        prompt="p",
        provider="openai",
        model="gpt-5",
        max_runtime_seconds=60,
        continue_from="run_00000000000000000000000000",
    )
    assert json.loads(cont.canonical())["continue_from"] == "run_00000000000000000000000000"


def test_a_failed_bundle_write_fails_the_run_and_frees_its_slot(
    api_env, start_run, finish, post, get_run, continue_run, monkeypatch: pytest.MonkeyPatch
):
    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    runs = deployment.current()
    ecs = aws.client("ecs")
    tasks = len(ecs.list_tasks(cluster=api_env.cluster_arn)["taskArns"])

    def refuse(*args: Any, **kwargs: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")

    with monkeypatch.context() as patch:
        patch.setattr(runs.artifacts, "put", refuse)
        resp = post(continue_from=parent)
    assert resp.status_code == 202
    reason = "the continuation bundle could not be written to the artifact bucket (AccessDenied)"
    assert resp.json_body["status"] == "FAILED_TO_START" and resp.json_body["reason"] == reason
    failed = get_run(resp.json_body["run_id"])
    assert failed["status"] == "FAILED_TO_START" and failed["task_arn"] is None
    assert failed["failure_reason"] == reason
    assert store.Store(api_env.table).active_count() == 0
    assert len(ecs.list_tasks(cluster=api_env.cluster_arn)["taskArns"]) == tasks  # no RunTask
    continue_run(parent)  # the failed one ended: the parent may be continued again


def realistic_session_token() -> str:
    """As long as a Lambda role's session token (the bulk of a presigned URL)."""
    rng = random.Random(22)
    return base64.b64encode(bytes(rng.randrange(256) for _ in range(900))).decode()


LONG_REPO = "o" * 39 + "/" + "n" * 100
# What the notes promise (docs: the README's API table): the prompt room of the worst case.
PLAIN_ROOM_AT_LEAST = 4800
CONTINUATION_ROOM_AT_LEAST = 3450


@pytest.fixture
def lambda_credentials(api_env: Env) -> Any:
    """Credentials with a session token as long as a Lambda's (the one boto3 session is made
    again with them, and again without them afterwards: it caches what it resolved)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_SESSION_TOKEN", realistic_session_token())
        aws.reset(new_session=True)
        deployment.reset()
        yield
    aws.reset(new_session=True)
    deployment.reset()


def test_the_presigned_urls_leave_the_prompt_room_stated(
    api_env, start_run, finish, post, monkeypatch: pytest.MonkeyPatch, lambda_credentials
):
    from dataclasses import replace
    from decimal import Decimal

    from chalicelib.cloud.ecs import ECS_OVERRIDES_LIMIT, overrides_size
    from chalicelib.core.ids import new_run_id

    parent, arn = start_run()
    finish(parent, arn, ["+a\n"])
    # The longest bucket name, the longest model and repository.
    monkeypatch.setenv("ARTIFACT_BUCKET", "b" * 63)
    aws.client("s3").create_bucket(Bucket="b" * 63)
    monkeypatch.setenv("ALLOWED_REPOS", f"{REPO},{LONG_REPO}")
    cfg.reset()
    deployment.reset()
    assert aws.session().get_credentials().token == realistic_session_token()
    lifecycle = deployment.current().lifecycle
    worst = {"provider": "openrouter", "model": "m" * 128, "max_cost_usd": 24.123456}

    def room(task_req: RunRequest, continuing: bool) -> int:
        """What the overrides leave for the prompt (each prompt character is one more)."""
        overrides = lifecycle.overrides_for(new_run_id(), task_req, continuing, False)
        return ECS_OVERRIDES_LIMIT - overrides_size(overrides)

    base = RunRequest(
        prompt="",
        provider="openrouter",
        model="m" * 128,
        max_runtime_seconds=7200,
        max_cost_usd=Decimal("24.123456"),
    )
    plain = room(replace(base, repo=LONG_REPO, ref="r" * 255), continuing=False)
    longest = room(replace(base, repo=LONG_REPO, ref=ROOT), continuing=True)
    cont = room(replace(base, repo=REPO, ref=ROOT), continuing=True)
    print(f"prompt room: run {plain}, continuation {longest} (of {REPO}: {cont})")
    assert plain >= PLAIN_ROOM_AT_LEAST and longest >= CONTINUATION_ROOM_AT_LEAST

    # The API agrees to the character, and refuses one more with a clear 413.
    run = {**worst, "repo": LONG_REPO, "ref": "r" * 255}
    assert post(prompt="p" * plain, **run).status_code == 202
    message = error_of(post(prompt="p" * (plain + 1), **run), 413)
    assert "presigned artifact URLs" in message and str(ECS_OVERRIDES_LIMIT) in message
    message = error_of(post(prompt="p" * (cont + 1), continue_from=parent, **worst), 413)
    assert "presigned artifact URLs" in message
    assert post(prompt="p" * cont, continue_from=parent, **worst).status_code == 202
