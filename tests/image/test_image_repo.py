"""Repository in, patch out (docs/ARCHITECTURE.md §4), with the real pi and the fake model.

``image/repo-init`` clones before the entrypoint starts (the conftest's ``entrypoint`` runs it
first, as the task's repo-init container with its SUCCESS dependency), and only it receives
the token; the entrypoint reads its ``clone.json``. A local repository (``file://`` +
``AGENT_ALLOW_LOCAL_REPOS=1``) stands in for GitHub. The
model's bash tool changes the checkout; the ``patch`` events the entrypoint writes are
reassembled and applied with ``git apply`` to a fresh clone of the base commit, as the
workflow that opens the pull request will do.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from agentrun import repo_init
from test_image_entrypoint import children_of

from devtools.fake_model import hang, text, tool

CLOUDWATCH_EVENT_MAX = 262_144 - 26  # bytes of one log event's message
TOKEN = "github_pat_secret_0123456789abcdef"


def git(*args: str, cwd: Path, **kw) -> str:
    """git with no user or system config, as on a fresh machine."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_ALLOW_PROTOCOL": "file",
    }
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, check=True, timeout=30, **kw
    )
    return out.stdout.decode()


@pytest.fixture
def origin(tmp_path: Path) -> dict:
    """A repository with two commits on main, a branch and a tag (the 'GitHub' side)."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git("init", "-q", "--initial-branch=main", cwd=repo)
    (repo / "tracked.txt").write_text("line one\nline two\n")
    (repo / "logo.bin").write_bytes(bytes(range(256)) * 4)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "first", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo).strip()
    git("tag", "v1", cwd=repo)
    git("branch", "feature", cwd=repo)
    (repo / "tracked.txt").write_text("line one\nline two\nline three\n")
    git("commit", "-qam", "second", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    return {"path": repo, "url": f"file://{repo}", "first": first, "head": head}


def repo_env(origin: dict, **more: str | None) -> dict:
    return {"AGENT_REPO_URL": origin["url"], "AGENT_ALLOW_LOCAL_REPOS": "1", **more}


def patch_of(run) -> bytes:
    """The patch events, checked for order and size, joined back into the patch."""
    events = run.events
    types = [e["type"] for e in events]
    patches = [e for e in events if e["type"] == "patch"]
    if patches:
        first = types.index("patch")
        assert types[first : first + len(patches)] == ["patch"] * len(patches)
        assert types[first + len(patches)] == "runtime_end"  # right before the last line
    assert [e["seq"] for e in patches] == list(range(len(patches)))
    for line in run.stdout_lines:
        assert len(line.encode()) + 1 <= CLOUDWATCH_EVENT_MAX
    for e in patches:
        assert len(e["data"].encode()) <= 200_000
    data = "".join(e["data"] for e in patches).encode()
    summary = run.end()["result"]["patch"]
    if summary is not None:
        assert summary["chunks"] == len(patches)
        assert summary["bytes"] == len(data)
    return data


def apply_to_fresh_clone(origin: dict, base: str, patch: bytes, tmp_path: Path) -> Path:
    """Clone the base commit elsewhere and ``git apply`` the patch (check first)."""
    dest = tmp_path / f"apply-{time.monotonic_ns()}"
    git("clone", "-q", origin["url"], str(dest), cwd=tmp_path)
    git("checkout", "-q", "--detach", base, cwd=dest)
    (tmp_path / "the.patch").write_bytes(patch)
    git("apply", "--check", str(tmp_path / "the.patch"), cwd=dest)
    git("apply", str(tmp_path / "the.patch"), cwd=dest)
    return dest


def same_files(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# --- patch out ------------------------------------------------------------------------------


def test_patch_roundtrip(entrypoint, fake, origin, tmp_path):
    """Tracked change committed by the agent itself, new text and binary files left
    uncommitted: one patch against the base reproduces all of them; the token stays out."""
    env_dump = tmp_path / "pi-env.txt"
    cmd = (
        "printf 'line four\\n' >> tracked.txt && git commit -qam 'agent commit' && "
        "printf 'brand new\\n' > new.txt && head -c 5000 /dev/urandom > blob.bin && "
        "printf 'x' >> logo.bin && mkdir -p sub/dir && printf 'deep\\n' > sub/dir/f.txt && "
        f"env > {env_dump}"
    )
    fake.reset(tool("bash", {"command": cmd}), text("Changed tracked.txt and added files."))
    run = entrypoint(**repo_env(origin, AGENT_REPO_TOKEN=TOKEN)).wait()
    assert run.returncode == 0, run.stderr
    ws = tmp_path / "workspace"
    ready = next(e for e in run.events if e["type"] == "repo_ready")
    assert ready["base_commit"] == origin["head"]

    result = run.end()["result"]
    assert result["final_message"] == "Changed tracked.txt and added files."
    summary = result["patch"]
    assert summary["base_commit"] == origin["head"]
    assert summary["files_changed"] == 5
    assert (summary["insertions"], summary["deletions"]) == (3, 0)  # binaries count 0
    assert summary["truncated"] is False and summary["chunks"] == 1

    patch = patch_of(run)
    assert b"GIT binary patch" in patch
    dest = apply_to_fresh_clone(origin, origin["head"], patch, tmp_path)
    same_files(ws, dest, ["tracked.txt", "new.txt", "blob.bin", "logo.bin", "sub/dir/f.txt"])

    # The token was for the clone only: not in pi's environment, the repo config or the log.
    pi_env = env_dump.read_text()
    assert "AGENT_REPO_TOKEN" not in pi_env and TOKEN not in pi_env
    assert TOKEN not in (ws / ".git" / "config").read_text()
    assert TOKEN not in "\n".join(run.stdout_lines) + run.stderr


def test_large_patch_is_chunked_and_reassembles_exactly(entrypoint, fake, origin, tmp_path):
    """~700 KB of text that JSON escaping inflates (quotes, backslashes, control and
    multi-byte characters): several chunks, every log line within CloudWatch's limit."""
    unit = 'say "hi"\\n\tä✓\x01\x1f 🙂 end\n'
    big = tmp_path / "big.txt"
    big.write_text(unit * (700_000 // len(unit.encode())))
    fake.reset(tool("bash", {"command": f"cp {big} big.txt"}), text("copied"))
    run = entrypoint(**repo_env(origin)).wait()
    assert run.returncode == 0, run.stderr
    summary = run.end()["result"]["patch"]
    assert summary["chunks"] >= 4 and summary["truncated"] is False
    patch = patch_of(run)
    dest = apply_to_fresh_clone(origin, origin["head"], patch, tmp_path)
    assert (dest / "big.txt").read_bytes() == big.read_bytes()


def test_non_utf8_text_still_applies(entrypoint, fake, origin, tmp_path):
    """A Latin-1 text file cannot travel in a JSON string as text: sent as binary, exact."""
    fake.reset(tool("bash", {"command": "printf 'caf\\351 cr\\350me\\n' > latin1.txt"}), text("ok"))
    run = entrypoint(**repo_env(origin)).wait()
    assert run.returncode == 0, run.stderr
    patch = patch_of(run)
    dest = apply_to_fresh_clone(origin, origin["head"], patch, tmp_path)
    assert (dest / "latin1.txt").read_bytes() == b"caf\xe9 cr\xe8me\n"
    assert not (tmp_path / "workspace" / ".git" / "info" / "attributes").exists()


def test_patch_is_truncated_at_a_file_boundary(entrypoint, fake, origin, tmp_path):
    """Over the 10 MB cap: whole files up to the cap, flagged, and what is sent applies."""
    small = "small change\n"
    cmd = (
        f"printf '{small}' > a.txt && "
        # 11 MB of incompressible text in one file (base64 of random bytes)
        "head -c 8400000 /dev/urandom | base64 -w 76 > z.txt"
    )
    fake.reset(tool("bash", {"command": cmd}), text("ok"))
    run = entrypoint(**repo_env(origin)).wait(timeout=60)
    assert run.returncode == 0, run.stderr
    summary = run.end()["result"]["patch"]
    assert summary["truncated"] is True
    assert summary["files_changed"] == 2  # the stats describe the whole change
    patch = patch_of(run)
    assert summary["bytes"] <= 10 * 1024 * 1024
    dest = apply_to_fresh_clone(origin, origin["head"], patch, tmp_path)
    assert (dest / "a.txt").read_text() == small
    assert not (dest / "z.txt").exists()


def test_no_change_no_patch(entrypoint, fake, origin):
    fake.reset(tool("bash", {"command": "cat tracked.txt"}), text("nothing to do"))
    run = entrypoint(**repo_env(origin)).wait()
    assert run.returncode == 0, run.stderr
    assert run.end()["result"]["patch"] is None
    assert "patch" not in run.types()


def test_hard_cap_still_emits_the_patch(entrypoint, fake, origin, tmp_path):
    """Work in the checkout when the cap hits is not lost. (The test writes the file itself
    once the clone is ready, so the check does not depend on how fast pi gets going.)"""
    fake.reset(hang())
    run = entrypoint(**repo_env(origin, AGENT_MAX_RUNTIME_SECONDS="3"))
    run.wait_for(lambda: "repo_ready" in "".join(run.stdout_lines))
    (tmp_path / "workspace" / "wip.txt").write_text("work\n")
    run.wait()
    assert run.returncode == 124, run.stderr
    patch = patch_of(run)
    dest = apply_to_fresh_clone(origin, origin["head"], patch, tmp_path)
    assert (dest / "wip.txt").read_text() == "work\n"


def test_sigterm_twice_with_frozen_pi_still_emits_the_patch(entrypoint, fake, origin, tmp_path):
    """StopTask while a tool runs and pi does not react: pi is killed early enough in the
    grace for the patch to go out before ECS would SIGKILL; a second SIGTERM is harmless."""
    pid_file = tmp_path / "tool.pid"
    # ...and an interrupted `git commit` left its index lock behind
    cmd = f"printf 'half\\n' > wip.txt; touch .git/index.lock; echo $$ > {pid_file}; sleep 300"
    fake.reset(tool("bash", {"command": cmd}), text("never"))
    run = entrypoint(**repo_env(origin, AGENT_STOP_GRACE_SECONDS="2"))
    run.wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
    (pi_pid,) = children_of(run.proc.pid)
    os.kill(pi_pid, signal.SIGSTOP)
    t0 = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    elapsed = time.monotonic() - t0
    assert run.returncode == 143, run.stderr
    assert elapsed < 2.0 + 0.5, elapsed  # within the grace: ECS would SIGKILL at 2 s
    assert "killed" in run.end()["reason"]
    patch = patch_of(run)
    dest = apply_to_fresh_clone(origin, origin["head"], patch, tmp_path)
    assert (dest / "wip.txt").read_text() == "half\n"


# --- repository in --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["main", "feature", "v1", "first-sha", "default"])
def test_refs_check_out(entrypoint, fake, origin, tmp_path, which):
    """Branches, tags and commit ids; no ref means the default branch. (Interactive, so
    no model is involved: the clone happens before the idle line.)"""
    ref = {"first-sha": origin["first"], "default": None}.get(which, which)
    expected = origin["head"] if which in ("main", "default") else origin["first"]
    run = entrypoint(JOB_PROMPT=None, **repo_env(origin, AGENT_REPO_REF=ref))
    run.wait_for(lambda: "runtime_idle" in "".join(run.stdout_lines))
    ws = tmp_path / "workspace"
    assert git("rev-parse", "HEAD", cwd=ws).strip() == expected
    assert git("status", "--porcelain", cwd=ws) == ""
    assert git("config", "user.email", cwd=ws).strip()  # the agent can commit
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 0, run.stderr
    assert run.end()["result"]["patch"] is None


def assert_repo_refused(run, fake, needle: str) -> None:
    assert run.returncode == 2, run.stderr
    end = run.end()
    assert needle in end["reason"], end["reason"]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and end["reason"] in lines[0]
    assert fake.requests == []
    assert run.duration < 5
    assert end["result"]["patch"] is None and end["result"]["final_message"] is None


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ssh://git@github.com/o/n.git", "must be an https:// URL"),
        ("git@github.com:o/n.git", "not a URL"),
        ("http://github.com/o/n.git", "must be an https:// URL"),
        ("git://github.com/o/n.git", "must be an https:// URL"),
        ("ext::sh -c touch% /tmp/cloudagent-pwned", "whitespace"),
        ("ext::sh", "must be an https:// URL"),
        ("-uhttps://github.com/o/n.git", "must not start with '-'"),
        ("https://user:pw@github.com/o/n.git", "must not carry credentials"),
        ("https://github.com/o/n.git?x=1", "is not a repository URL"),
    ],
)
def test_bad_repo_urls(entrypoint, fake, url, needle):
    run = entrypoint(AGENT_REPO_URL=url, AGENT_ALLOW_LOCAL_REPOS="1").wait()
    assert_repo_refused(run, fake, needle)
    assert "pw" not in run.stderr
    assert not Path("/tmp/cloudagent-pwned").exists()


def test_file_url_needs_the_flag(entrypoint, fake, origin):
    run = entrypoint(AGENT_REPO_URL=origin["url"]).wait()
    assert_repo_refused(run, fake, "AGENT_ALLOW_LOCAL_REPOS=1")


@pytest.mark.parametrize("ref", ["--upload-pack=touch x", "a..b", "-x", "main lock", "x.lock"])
def test_bad_refs(entrypoint, fake, origin, ref):
    run = entrypoint(**repo_env(origin, AGENT_REPO_REF=ref)).wait()
    assert_repo_refused(run, fake, "AGENT_REPO_REF")


def test_ref_without_url(entrypoint, fake):
    run = entrypoint(AGENT_REPO_REF="main").wait()
    assert_repo_refused(run, fake, "AGENT_REPO_URL is not")


def test_missing_ref_fails_at_fetch(entrypoint, fake, origin):
    run = entrypoint(**repo_env(origin, AGENT_REPO_REF="no-such-branch")).wait()
    assert_repo_refused(
        run, fake, f"could not clone {origin['url']} at no-such-branch: fetch failed"
    )


def test_missing_repository_fails_at_fetch(entrypoint, fake, tmp_path):
    url = f"file://{tmp_path}/nowhere.git"
    run = entrypoint(AGENT_REPO_URL=url, AGENT_ALLOW_LOCAL_REPOS="1").wait()
    assert_repo_refused(run, fake, f"could not clone {url}: fetch failed")


def test_workspace_must_be_empty(entrypoint, fake, origin, tmp_path):
    (tmp_path / "workspace" / "leftover").write_text("x")
    run = entrypoint(**repo_env(origin)).wait()
    assert_repo_refused(run, fake, "is not empty")


def test_lost_and_found_is_tolerated_and_kept_out_of_the_patch(entrypoint, fake, origin, tmp_path):
    """A volume's own lost+found does not count as content, nor ends up in the patch."""
    (tmp_path / "workspace" / "lost+found").mkdir()
    (tmp_path / "workspace" / "lost+found" / "x").write_text("fs debris")
    run = entrypoint(JOB_PROMPT=None, **repo_env(origin))
    run.wait_for(lambda: "runtime_idle" in "".join(run.stdout_lines))
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 0, run.stderr
    assert run.end()["result"]["patch"] is None


def test_hung_server_times_out(entrypoint, fake):
    """An https server that accepts and never answers: the clone timeout ends it (exit 2)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{sock.getsockname()[1]}/o/n.git"
        run = entrypoint(AGENT_REPO_URL=url, AGENT_REPO_CLONE_TIMEOUT_SECONDS="1").wait()
        assert_repo_refused(run, fake, "fetch failed: timed out")
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


def test_limits_match_the_settings() -> None:
    """The entrypoint and stacks/shared/constants.py agree on the token variable and the limits."""
    import re

    from devtools.pi_runtime import ENTRYPOINT_LIB
    from stacks.shared import constants as settings

    config = (ENTRYPOINT_LIB / "constants.js").read_text()
    assert f'const REPO_TOKEN_VAR = "{settings.AGENT_REPO_TOKEN_ENV}";' in config
    for module, name in (
        ("patch.js", "PATCH_CHUNK_BYTES"),
        ("patch.js", "PATCH_MAX_BYTES"),
        ("result.js", "FINAL_MESSAGE_MAX_BYTES"),
    ):
        source = (ENTRYPOINT_LIB / module).read_text()
        m = re.search(rf"^const {name} = ([0-9_ *]+);", source, re.MULTILINE)
        assert m, f"{module}: {name}"
        assert eval(m.group(1)) == getattr(settings, name), name  # digits and * only


def test_token_goes_to_the_fetch_only(entrypoint, fake, tmp_path, runtime):
    """A `git` wrapper records every call: the token reaches the fetch alone, as a header
    scoped to the repository's origin, in its environment (not argv, not .git/config)."""
    import base64

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "git-calls.jsonl"
    real_git = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}) + '\\n')\n"
        f"os.execv({real_git!r}, ['git', *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    url = "https://127.0.0.1:9/o/n.git"  # nothing listens: the fetch fails at once
    run = entrypoint(
        AGENT_REPO_URL=url, AGENT_REPO_TOKEN=TOKEN, PATH=f"{bin_dir}:{runtime.path}"
    ).wait()
    assert_repo_refused(run, fake, f"could not clone {url}: fetch failed")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    header = "Authorization: Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    with_token = [c for c in calls if header in c["env"].values()]
    assert len(with_token) == 1 and "fetch" in with_token[0]["argv"]
    assert with_token[0]["env"]["GIT_CONFIG_KEY_0"] == "http.https://127.0.0.1:9/.extraHeader"
    for call in calls:
        assert TOKEN not in json.dumps(call["argv"])
        assert "AGENT_REPO_TOKEN" not in call["env"]
        assert call["env"]["GIT_TERMINAL_PROMPT"] == "0"
        assert call["env"]["GIT_CONFIG_GLOBAL"] == "/dev/null"
    assert TOKEN not in (tmp_path / "workspace" / ".git" / "config").read_text()


# --- the handoff from repo-init -------------------------------------------------------------


def clone_result(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "handoff" / "clone.json").read_text())


def test_repo_init_lines_and_clone_result(agent_env, origin, tmp_path):
    """repo-init's own lines (run id on each) and the clone.json the agent reads; exit 0."""
    env = {**agent_env, **repo_env(origin, AGENT_REPO_REF="feature", AGENT_REPO_TOKEN=TOKEN)}
    proc = repo_init(env, tmp_path / "workspace")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["type"] for e in lines] == ["repo_init_start", "repo_init_end"]
    assert {e["run_id"] for e in lines} == {env["RUN_ID"]}
    assert lines[1]["ok"] is True and lines[1]["base_commit"] == origin["first"]
    assert clone_result(tmp_path) == {
        "ok": True,
        "repo": origin["url"],
        "ref": "feature",
        "base_commit": origin["first"],
    }
    assert TOKEN not in proc.stdout + proc.stderr


def test_failed_clone_is_handed_over_and_exits_0(agent_env, origin, tmp_path):
    env = {**agent_env, **repo_env(origin, AGENT_REPO_REF="no-such-branch")}
    proc = repo_init(env, tmp_path / "workspace")
    assert proc.returncode == 0, proc.stderr
    result = clone_result(tmp_path)
    assert result["ok"] is False and result["ref"] == "no-such-branch"
    assert result["error"].startswith(f"could not clone {origin['url']} at no-such-branch: fetch")


def test_repo_init_fails_only_without_a_handoff(agent_env, origin, tmp_path):
    env = {**agent_env, **repo_env(origin), "AGENT_HANDOFF_DIR": str(tmp_path / "missing")}
    proc = repo_init(env, tmp_path / "workspace")
    assert proc.returncode == 1
    assert "cannot write the clone result" in proc.stderr


def test_agent_never_clones(entrypoint, fake, origin, tmp_path):
    """No clone result (repo-init did not run): exit 2, and the workspace stays empty."""
    run = entrypoint(clone=False, **repo_env(origin)).wait()
    assert_repo_refused(run, fake, "the repository was not cloned (no clone result from repo-init")
    assert list((tmp_path / "workspace").iterdir()) == []


def test_clone_result_for_another_repository_is_refused(entrypoint, fake, origin, tmp_path):
    other = {"ok": True, "repo": "https://github.com/o/other.git", "ref": None}
    (tmp_path / "handoff" / "clone.json").write_text(json.dumps({**other, "base_commit": "0" * 40}))
    run = entrypoint(clone=False, **repo_env(origin)).wait()
    assert_repo_refused(run, fake, "is for https://github.com/o/other.git")


def test_workspace_not_at_the_cloned_commit_is_refused(entrypoint, fake, origin, tmp_path):
    """clone.json says one commit, the workspace holds another: the patch base would lie."""
    run = entrypoint(JOB_PROMPT=None, **repo_env(origin))  # repo-init clones main's head
    run.wait_for(lambda: "runtime_idle" in "".join(run.stdout_lines))
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    result = clone_result(tmp_path)
    clone_json = tmp_path / "handoff" / "clone.json"
    clone_json.write_text(json.dumps({**result, "base_commit": origin["first"]}))
    run = entrypoint(clone=False, **repo_env(origin)).wait()
    assert_repo_refused(run, fake, f"is not at the cloned commit {origin['first']}")
