"""Continuing a run with its conversation (docs/ARCHITECTURE.md §4): real pi, fake model.

A chain of runs as the control plane drives it, minus AWS: each run with a repository PUTs
pi's session to a presigned URL; a continued run's repo-init GETs the bundle (the ancestors'
patches, the parent's session) from another, clones the root commit, commits the patches in
order and leaves the session for the agent, whose pi resumes it. ``S3Stub`` stands in for the
bucket behind both URLs, a local repository for GitHub. Each run of a chain gets its own
workspace, handoff and HOME, as each task does.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from agentrun import Run, repo_init, start
from s3stub import SIGNATURE, S3Stub
from test_image_entrypoint import user_prompts
from test_image_repo import git, patch_of, repo_env

from devtools.fake_model import hang, status, text, tool
from devtools.pi_runtime import ENTRYPOINT_LIB

SESSION_MAX_BYTES = 8 * 1024 * 1024
HTTPS_ONLY = "AGENT_SESSION_UPLOAD_URL must be an https:// URL (http:// only to 127.0.0.1)"
FIXED_DATE = "0 +0000"  # 1970-01-01T00:00:00+0000 as git prints it
BOT = "Cloud Agent <cloudagent@users.noreply.github.com>"


@pytest.fixture
def origin(tmp_path: Path) -> dict:
    """The "GitHub" repository: two commits on main (the root commit is the second)."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git("init", "-q", "--initial-branch=main", cwd=repo)
    (repo / "tracked.txt").write_text("line one\nline two\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "first", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo).strip()
    (repo / "other.txt").write_text("other\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "second", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    return {"path": repo, "url": f"file://{repo}", "first": first, "head": head}


@pytest.fixture
def s3():
    stub = S3Stub()
    yield stub
    stub.stop()


@pytest.fixture
def task(tmp_path: Path, agent_env: dict[str, str], s3: S3Stub):
    """``task(run_id, **env)``: one task's directories and environment (``None`` unsets).

    The session upload URL is set as the control plane sets it for every run with a
    repository; a continuation also gets its bundle's URL (``continue_url=True``).
    """

    def make(run_id: str, *, continue_url: bool = False, **overrides: str | None) -> dict:
        root = tmp_path / run_id
        for name in ("workspace", "handoff", "home"):
            (root / name).mkdir(parents=True)
        env = {
            **agent_env,
            "RUN_ID": run_id,
            "HOME": str(root / "home"),
            "AGENT_HANDOFF_DIR": str(root / "handoff"),
            "AGENT_SESSION_UPLOAD_URL": s3.url(f"sessions/{run_id}.jsonl"),
        }
        if continue_url:
            env["AGENT_CONTINUE_URL"] = s3.url(f"continuations/{run_id}.json")
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return {"env": env, "root": root, "workspace": root / "workspace"}

    return make


def init(t: dict) -> dict:
    """repo-init for task ``t``: its lines and the clone.json it left."""
    proc = repo_init(t["env"], t["workspace"])
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["type"] for e in lines] == ["repo_init_start", "repo_init_end"]
    assert SIGNATURE not in proc.stdout + proc.stderr
    clone = json.loads((t["root"] / "handoff" / "clone.json").read_text())
    return {"lines": lines, "clone": clone, "stderr": proc.stderr}


def agent(t: dict, prompt: str) -> Run:
    """The entrypoint for task ``t`` (after its repo-init), to its end."""
    run = start({**t["env"], "JOB_PROMPT": prompt}, t["workspace"]).wait(timeout=60)
    assert run.events[-1]["type"] == "runtime_end"
    assert SIGNATURE not in "\n".join(run.stdout_lines) + run.stderr
    return run


def of(run: Run, kind: str) -> list[dict]:
    return [e for e in run.events if e["type"] == kind]


def jsonl(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def bundle(run_id: str, parent: str, root: str, patches: list, session, note=None) -> dict:
    """What the control plane writes to ``continuations/<run_id>.json``."""
    return {
        "format": 1,
        "run_id": run_id,
        "parent_run_id": parent,
        "repo": "https://github.com/o/r.git",
        "root_commit": root,
        "patches": [{"run_id": r, "patch": p} for r, p in patches],
        "session": session,
        "session_note": note,
    }


def new_id() -> str:
    return f"run-{uuid.uuid4().hex[:10]}"


# --- the chain --------------------------------------------------------------------------------


def test_continued_run_resumes_the_conversation_and_its_code(fake, origin, task, s3, tmp_path):
    """Run 1 changes the code and saves its session; run 2 continues it: the clone has run
    1's change committed, pi resumes run 1's conversation (the model is sent run 1's turns),
    works in run 2's own workspace, and its patch holds only run 2's change. A third run's
    repo-init commits both patches, reproducing run 2's base commit exactly."""
    first, second, third = new_id(), new_id(), new_id()

    # Run 1: an ordinary run with a repository; pi creates the session file at its first answer.
    t1 = task(first, AGENT_REPO_REF=origin["head"], **repo_env(origin))
    assert init(t1)["clone"]["ok"] is True
    fake.reset(
        tool(
            "bash",
            {"command": "printf 'from run 1\\n' >> tracked.txt && printf 'one\\n' > one.txt"},
        ),
        text("First answer: the word is ZEBRA."),
    )
    run1 = agent(t1, "First prompt: remember the word ZEBRA.")
    assert run1.returncode == 0, run1.stderr
    (saved1,) = of(run1, "session_saved")
    session1 = s3.objects[f"sessions/{first}.jsonl"]
    entries1 = jsonl(session1)
    assert entries1[0]["type"] == "session"
    messages1 = [e for e in entries1 if e["type"] == "message"]
    assert [m["message"]["role"] for m in messages1] == [
        "user",
        "assistant",
        "toolResult",
        "assistant",
    ]
    assert saved1 | {"ts": None} == {
        "type": "session_saved",
        "run_id": first,
        "ts": None,
        "bytes": len(session1),
        "messages": 4,
        "truncated": False,
        "dropped_messages": 0,
    }
    assert run1.end()["result"]["session"] == {
        "saved": True,
        "bytes": len(session1),
        "messages": 4,
        "truncated": False,
    }
    put = next(r for r in s3.requests if r["method"] == "PUT")
    assert put["headers"]["Content-Type"] == "application/x-ndjson"
    patch1 = patch_of(run1).decode()
    assert run1.end()["result"]["patch"]["base_commit"] == origin["head"]
    assert ".cloudagent" not in patch1 and not (t1["workspace"] / ".cloudagent").exists()

    # Run 2 continues run 1.
    s3.put_json(
        f"continuations/{second}.json",
        bundle(second, first, origin["head"], [(first, patch1)], session1.decode()),
    )
    t2 = task(second, continue_url=True, AGENT_REPO_REF=origin["head"], **repo_env(origin))
    done = init(t2)
    clone = done["clone"]
    assert clone["ok"] is True, clone
    assert clone["root_commit"] == origin["head"] and clone["parent_run_id"] == first
    assert clone["patches_applied"] == [first]
    assert clone["session"] == {"file": "session.jsonl", "bytes": len(session1), "messages": 4}
    assert clone["session_note"] is None
    ws2 = t2["workspace"]
    base2 = clone["base_commit"]
    assert git("rev-parse", "HEAD", cwd=ws2).strip() == base2 != origin["head"]
    assert git("rev-parse", "HEAD~1", cwd=ws2).strip() == origin["head"]
    assert (ws2 / "one.txt").read_text() == "one\n"
    assert git("status", "--porcelain", cwd=ws2) == ""  # committed, nothing left over
    end = done["lines"][1]
    assert end["parent_run_id"] == first and end["patches_applied"] == [first]

    fake.reset(
        tool("bash", {"command": "pwd > where.txt && printf 'from run 2\\n' >> tracked.txt"}),
        text("Second answer: done."),
    )
    run2 = agent(t2, "Second prompt: what was the word?")
    assert run2.returncode == 0, run2.stderr
    (restored,) = of(run2, "session_restored")
    assert restored["parent_run_id"] == first and restored["messages"] == 4
    (ready,) = of(run2, "repo_ready")
    assert (ready["base_commit"], ready["parent_run_id"], ready["root_commit"]) == (
        base2,
        first,
        origin["head"],
    )
    # pi resumed run 1's conversation: its first request already carries run 1's turns,
    # then the new prompt as the next user turn.
    sent = json.dumps(fake.requests[0])
    assert "First prompt: remember the word ZEBRA." in sent
    assert "First answer: the word is ZEBRA." in sent
    assert user_prompts(fake.requests[0]) == [
        "First prompt: remember the word ZEBRA.",
        "Second prompt: what was the word?",
    ]
    # ...in this run's workspace, not the one run 1's session was recorded in
    assert (ws2 / "where.txt").read_text().strip() == str(ws2)
    assert not (t1["workspace"] / "where.txt").exists()

    # Run 2's session: the same session, run 1's messages followed by its own.
    session2 = s3.objects[f"sessions/{second}.jsonl"]
    entries2 = jsonl(session2)
    assert entries2[0]["id"] == entries1[0]["id"] and entries2[0]["cwd"] == str(ws2)
    assert [e for e in entries2 if e["type"] == "message"][:4] == messages1
    assert len([e for e in entries2 if e["type"] == "message"]) == 8
    assert of(run2, "session_saved")[0]["messages"] == 8

    # Run 2's patch is incremental: against the synthetic commit, applying on top of run 1's.
    summary = run2.end()["result"]["patch"]
    assert (summary["base_commit"], summary["parent_run_id"], summary["root_commit"]) == (
        base2,
        first,
        origin["head"],
    )
    patch2 = patch_of(run2).decode()
    assert "from run 2" in patch2 and "one.txt" not in patch2

    # Run 3 continues run 2: two ancestor patches; the first commit is run 2's base commit.
    s3.put_json(
        f"continuations/{third}.json",
        bundle(
            third, second, origin["head"], [(first, patch1), (second, patch2)], session2.decode()
        ),
    )
    heads = []
    for attempt in ("a", "b"):  # twice, in two workspaces: the same commits
        t3 = task(
            f"{third}-{attempt}",
            continue_url=True,
            AGENT_REPO_REF=origin["head"],
            **repo_env(origin),
        )
        t3["env"]["RUN_ID"] = third
        t3["env"]["AGENT_CONTINUE_URL"] = s3.url(f"continuations/{third}.json")
        clone3 = init(t3)["clone"]
        assert clone3["ok"] is True, clone3
        assert clone3["patches_applied"] == [first, second]
        ws3 = t3["workspace"]
        assert git("rev-parse", "HEAD~1", cwd=ws3).strip() == base2
        assert git("rev-parse", "HEAD~2", cwd=ws3).strip() == origin["head"]
        log = git("log", "-2", "--format=%an <%ae>|%ad|%cn <%ce>|%cd|%s", "--date=raw", cwd=ws3)
        assert log.splitlines() == [
            f"{BOT}|{FIXED_DATE}|{BOT}|{FIXED_DATE}|cloudagent: run {second}",
            f"{BOT}|{FIXED_DATE}|{BOT}|{FIXED_DATE}|cloudagent: run {first}",
        ]
        for name in ("tracked.txt", "one.txt", "where.txt"):
            assert (ws3 / name).read_bytes() == (ws2 / name).read_bytes(), name
        heads.append(clone3["base_commit"])
    assert heads[0] == heads[1]


def test_patch_that_does_not_apply_ends_the_run_with_exit_2(
    entrypoint, fake, origin, s3, agent_env
):
    """A patch the root commit cannot take: repo-init names the run and the reason, and the
    agent exits 2 with it before pi starts."""
    run_id, parent = agent_env["RUN_ID"], new_id()
    bad = (
        "diff --git a/tracked.txt b/tracked.txt\n--- a/tracked.txt\n+++ b/tracked.txt\n"
        "@@ -1,2 +1,2 @@\n-no such line\n+replacement\n line two\n"
    )
    s3.put_json(
        f"continuations/{run_id}.json",
        bundle(run_id, parent, origin["head"], [(parent, bad)], None),
    )
    env = repo_env(
        origin,
        AGENT_REPO_REF=origin["head"],
        AGENT_CONTINUE_URL=s3.url(f"continuations/{run_id}.json"),
        AGENT_SESSION_UPLOAD_URL=s3.url(f"sessions/{run_id}.jsonl"),
    )
    run = entrypoint(**env).wait()
    assert run.returncode == 2, run.stderr
    reason = run.end()["reason"]
    assert reason.startswith(
        f"could not continue run {parent}: patch of run {parent} does not apply: error:"
    )
    assert "tracked.txt" in reason
    assert fake.requests == []
    # ended before pi: nothing to save, and the result says so
    assert run.end()["result"]["session"] == {
        "saved": False,
        "bytes": 0,
        "messages": 0,
        "truncated": False,
    }
    assert not [r for r in s3.requests if r["method"] == "PUT"]


def test_missing_session_continues_from_the_code_alone(
    entrypoint, fake, origin, s3, agent_env, tmp_path
):
    """The parent saved no session: session_unavailable with the control plane's note, and the
    run works from the committed code, in a new session it then saves."""
    run_id, parent = agent_env["RUN_ID"], new_id()
    patch = (
        "diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n"
        "@@ -0,0 +1 @@\n+earlier\n"
    )
    note = f"run {parent} saved no session"
    s3.put_json(
        f"continuations/{run_id}.json",
        bundle(run_id, parent, origin["head"], [(parent, patch)], None, note),
    )
    env = repo_env(
        origin,
        AGENT_REPO_REF=origin["head"],
        AGENT_CONTINUE_URL=s3.url(f"continuations/{run_id}.json"),
        AGENT_SESSION_UPLOAD_URL=s3.url(f"sessions/{run_id}.jsonl"),
    )
    fake.reset(text("Carried on."))
    run = entrypoint(**env).wait()
    assert run.returncode == 0, run.stderr
    clone = json.loads((tmp_path / "handoff" / "clone.json").read_text())
    assert clone["session"] is None and clone["session_note"] == note
    assert not (tmp_path / "handoff" / "session.jsonl").exists()
    (unavailable,) = of(run, "session_unavailable")
    assert unavailable["parent_run_id"] == parent
    assert unavailable["reason"] == f"continuing from the code alone: {note}"
    assert not of(run, "session_restored")
    assert user_prompts(fake.requests[0]) == ["Say hello."]
    assert (tmp_path / "workspace" / "new.txt").read_text() == "earlier\n"
    saved = jsonl(s3.objects[f"sessions/{run_id}.jsonl"])
    assert [e["message"]["role"] for e in saved if e["type"] == "message"] == ["user", "assistant"]
    assert run.end()["result"]["session"]["saved"] is True


@pytest.mark.parametrize("code", [403, 500])
def test_failed_upload_is_reported_and_changes_no_exit_code(
    entrypoint, fake, origin, s3, agent_env, code
):
    run_id = agent_env["RUN_ID"]
    s3.fail["PUT"] = code
    fake.reset(text("Fine."))
    run = entrypoint(
        **repo_env(origin, AGENT_SESSION_UPLOAD_URL=s3.url(f"sessions/{run_id}.jsonl"))
    ).wait()
    assert run.returncode == 0, run.stderr
    (failed,) = of(run, "session_save_failed")
    assert failed["error"].startswith(f"PUT failed: HTTP {code} (")
    assert "stub says" in failed["error"]
    assert not of(run, "session_saved")
    result = run.end()["result"]
    assert result["session"]["saved"] is False and result["session"]["messages"] == 2
    assert [r["method"] for r in s3.requests] == ["PUT"]


def test_unreachable_upload_is_reported(entrypoint, fake, origin, unused_port):
    fake.reset(text("Fine."))
    url = f"http://127.0.0.1:{unused_port}/bucket/sessions/x.jsonl?{SIGNATURE}"
    run = entrypoint(**repo_env(origin, AGENT_SESSION_UPLOAD_URL=url)).wait()
    assert run.returncode == 0, run.stderr
    (failed,) = of(run, "session_save_failed")
    assert failed["error"].startswith("PUT failed: ECONNREFUSED")
    assert SIGNATURE not in "\n".join(run.stdout_lines) + run.stderr


def test_without_upload_url_pi_keeps_no_session(entrypoint, fake, origin, tmp_path):
    """No URL (an interactive task, or a run without one): --no-session, as before."""
    fake.reset(text("ok"))
    run = entrypoint(**repo_env(origin)).wait()
    assert run.returncode == 0, run.stderr
    assert run.end()["result"]["session"] is None
    assert not of(run, "session_saved") and not of(run, "session_save_failed")
    assert not (tmp_path / "home" / ".cloudagent").exists()


# --- what repo-init refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        (
            "get-403",
            "could not continue: could not fetch the continuation bundle: "
            "HTTP 403 (AccessDenied: stub says 403)",
        ),
        (
            "missing",
            "could not continue: could not fetch the continuation bundle: HTTP 404 (NoSuchKey",
        ),
        (
            "too-big",
            "could not continue: could not fetch the continuation bundle: "
            "the answer is 67108865 bytes, over",
        ),
        ("not-json", "could not continue: the continuation bundle is not JSON"),
        ("format", "could not continue run PARENT: the continuation bundle has format 2, not 1"),
        (
            "other-run",
            "could not continue run PARENT: "
            'the continuation bundle is for run "someone-else", not RUN',
        ),
        ("other-root", "could not continue run PARENT: the continuation bundle starts from commit"),
        (
            "bad-patch-id",
            "could not continue run PARENT: the continuation bundle has a patch entry without",
        ),
    ],
)
def test_bad_bundles_are_refused_naming_the_step(agent_env, origin, s3, tmp_path, case, needle):
    run_id, parent = agent_env["RUN_ID"], new_id()
    good = bundle(run_id, parent, origin["head"], [], None)
    key = f"continuations/{run_id}.json"
    if case == "get-403":
        s3.fail["GET"] = 403
    elif case == "too-big":
        s3.put_json(key, good)
        s3.declare_length = 64 * 1024 * 1024 + 1
    elif case == "not-json":
        s3.objects[key] = b"<html>"
    elif case != "missing":
        changes = {
            "format": {"format": 2},
            "other-run": {"run_id": "someone-else"},
            "other-root": {"root_commit": origin["first"]},
            "bad-patch-id": {"patches": [{"run_id": "x; rm -rf /", "patch": ""}]},
        }[case]
        s3.put_json(key, {**good, **changes})
    env = {
        **agent_env,
        **repo_env(origin, AGENT_REPO_REF=origin["head"]),
        "AGENT_CONTINUE_URL": s3.url(key),
    }
    proc = repo_init(env, tmp_path / "workspace")
    assert proc.returncode == 0, proc.stderr
    clone = json.loads((tmp_path / "handoff" / "clone.json").read_text())
    assert clone["ok"] is False
    assert clone["error"].startswith(needle.replace("PARENT", parent).replace("RUN", run_id)), (
        clone["error"]
    )
    assert SIGNATURE not in proc.stdout + proc.stderr


def test_empty_patch_is_skipped(agent_env, origin, s3, tmp_path):
    """A run that changed nothing contributes no commit."""
    run_id, parent = agent_env["RUN_ID"], new_id()
    s3.put_json(
        f"continuations/{run_id}.json", bundle(run_id, parent, origin["head"], [(parent, "")], None)
    )
    env = {
        **agent_env,
        **repo_env(origin, AGENT_REPO_REF=origin["head"]),
        "AGENT_CONTINUE_URL": s3.url(f"continuations/{run_id}.json"),
    }
    assert repo_init(env, tmp_path / "workspace").returncode == 0
    clone = json.loads((tmp_path / "handoff" / "clone.json").read_text())
    assert clone["ok"] is True and clone["patches_applied"] == []
    assert clone["base_commit"] == clone["root_commit"] == origin["head"]


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        (
            {"AGENT_SESSION_UPLOAD_URL": "http://example.com/s?x=1"},
            HTTPS_ONLY,
        ),
        (
            {"AGENT_SESSION_UPLOAD_URL": "ftp://127.0.0.1/s"},
            HTTPS_ONLY,
        ),
        ({"AGENT_SESSION_UPLOAD_URL": "not a url"}, "AGENT_SESSION_UPLOAD_URL is not a URL"),
    ],
)
def test_bad_upload_url_is_a_configuration_error(entrypoint, fake, env, needle):
    run = entrypoint(**env).wait()
    assert run.returncode == 2
    assert run.end()["reason"] == needle
    assert fake.requests == []


def test_continue_url_needs_a_repository(agent_env, s3, tmp_path):
    env = {**agent_env, "AGENT_CONTINUE_URL": s3.url("continuations/x.json")}
    assert repo_init(env, tmp_path / "workspace").returncode == 0
    clone = json.loads((tmp_path / "handoff" / "clone.json").read_text())
    assert clone["error"] == "AGENT_CONTINUE_URL is set but AGENT_REPO_URL is not"


# --- the cap --------------------------------------------------------------------------------


def cap(runtime, data: bytes, max_bytes: int | None = None) -> dict:
    """lib/session.js's capSession on ``data`` (in Node, as the entrypoint runs it)."""
    script = (
        f"const s = require({json.dumps(str(ENTRYPOINT_LIB / 'session.js'))});"
        "const chunks = []; process.stdin.on('data', (c) => chunks.push(c));"
        "process.stdin.on('end', () => {"
        "  const max = process.argv[1] ? Number(process.argv[1]) : undefined;"
        "  const r = s.capSession(Buffer.concat(chunks), max);"
        "  process.stdout.write(JSON.stringify({...r, buf: r.buf.toString('base64')}));"
        "});"
    )
    args = ["node", "-e", script, str(max_bytes) if max_bytes else ""]
    out = subprocess.run(
        args, input=data, capture_output=True, check=True, env={"PATH": runtime.path}
    )
    doc = json.loads(out.stdout)
    doc["buf"] = base64.b64decode(doc["buf"])
    return doc


def session_lines(n: int, size: int) -> list[bytes]:
    header = json.dumps({"type": "session", "version": 3, "id": "s1", "cwd": "/workspace"}).encode()
    out = [header]
    parent = None
    for i in range(n):
        kind = "message" if i % 4 else "model_change"
        entry = {"type": kind, "id": f"e{i}", "parentId": parent, "pad": "x" * size}
        out.append(json.dumps(entry).encode())
        parent = f"e{i}"
    return out


def test_session_over_the_cap_is_cut_at_a_line_boundary(runtime):
    """9 MiB of entries: the header and whole lines up to 8 MiB, in order; how many messages
    were dropped is counted."""
    lines = session_lines(9 * 1024, 1000)
    data = b"\n".join(lines) + b"\n"
    assert len(data) > SESSION_MAX_BYTES
    r = cap(runtime, data)
    assert r["truncated"] is True
    out = r["buf"]
    assert len(out) <= SESSION_MAX_BYTES and out.endswith(b"\n")
    assert data.startswith(out)  # a prefix ...
    kept = out.count(b"\n")
    assert len(out) + len(lines[kept]) + 1 > SESSION_MAX_BYTES  # ... as long as whole lines fit
    is_message = [json.loads(line)["type"] == "message" for line in lines]
    assert r["messages"] == sum(is_message[:kept])
    assert r["dropped_messages"] == sum(is_message[kept:]) > 0


def test_session_under_the_cap_is_kept_whole_without_a_torn_last_line(runtime):
    lines = session_lines(8, 10)
    data = b"\n".join(lines) + b"\n"
    r = cap(runtime, data)
    assert (r["buf"], r["truncated"], r["messages"], r["dropped_messages"]) == (data, False, 6, 0)
    # a kill in the middle of pi's append leaves half a line: not JSON, not kept
    r = cap(runtime, data + b'{"type":"message","id":"e9","par')
    assert (r["buf"], r["truncated"], r["messages"]) == (data, False, 6)
    # a small cap: the header always first, then what fits
    r = cap(runtime, data, max_bytes=len(lines[0]) + len(lines[1]) + 2)
    assert r["buf"] == lines[0] + b"\n" + lines[1] + b"\n"
    assert (r["truncated"], r["messages"], r["dropped_messages"]) == (True, 0, 6)


def test_a_failing_model_still_saves_the_session(entrypoint, fake, origin, s3, agent_env):
    """pi's last answer an error (exit 1): the session, with the failed turn, is saved all
    the same, so a continuation can retry from there."""
    run_id = agent_env["RUN_ID"]
    fake.reset(*[status(500)] * 5)
    run = entrypoint(
        **repo_env(origin, AGENT_SESSION_UPLOAD_URL=s3.url(f"sessions/{run_id}.jsonl"))
    ).wait()
    assert run.returncode == 1, run.stderr
    assert run.end()["result"]["session"]["saved"] is True
    saved = jsonl(s3.objects[f"sessions/{run_id}.jsonl"])
    messages = [e["message"] for e in saved if e["type"] == "message"]
    assert messages[0]["role"] == "user" and messages[-1]["stopReason"] == "error"


def test_a_stopped_run_saves_its_session_within_the_grace(
    entrypoint, fake, origin, s3, agent_env, tmp_path
):
    """SIGTERM while the model is thinking (StopTask): pi's session so far is saved before
    runtime_end, and the exit code is the stop's."""
    run_id = agent_env["RUN_ID"]
    fake.reset(tool("bash", {"command": "true"}), hang())
    url = s3.url(f"sessions/{run_id}.jsonl")
    run = entrypoint(**repo_env(origin, AGENT_SESSION_UPLOAD_URL=url))
    kept = tmp_path / "home" / ".cloudagent" / "session.jsonl"
    run.wait_for(lambda: kept.exists() and b'"toolResult"' in kept.read_bytes())
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 143, run.stderr
    types = run.types()
    assert types.index("session_saved") < types.index("runtime_end")
    saved = jsonl(s3.objects[f"sessions/{run_id}.jsonl"])
    roles = [e["message"]["role"] for e in saved if e["type"] == "message"]
    assert roles == ["user", "assistant", "toolResult"]
    assert run.end()["result"]["session"]["saved"] is True
