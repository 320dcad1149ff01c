"""Under `make up`: a run continued where it stopped, with its conversation (issue 22).

The checks `test_embedded_aws.py` runs on its one `make up`:

1. run 1 on the local repository creates `notes.txt`; its agent saves pi's session through
   the presigned PUT the API handed it (`session_saved`);
2. run 2 continues run 1 (`continue_from`): its task starts from run 1's base commit with run
   1's patch applied and committed, restores run 1's session before pi starts
   (`session_restored`, with run 1's message count), and pi resumes it - the fake model sees
   both user turns - then appends to `notes.txt`. Run 2's patch is incremental: it applies on
   a checkout of run 1's base with run 1's patch committed, and only there;
3. refusals: continuing a run without a repository (400), a run still running (409), and a
   second continuation while one is running (409);
4. `python -m devtools.run --continue` continues run 2 (a chain of three) and sees both earlier
   changes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devtools import run as run_command
from devtools.local.up import UpResult
from tests.e2e.flow import MODEL, all_events, bare_repository, call, wait_for

REPO = "org/cloudagent"


def _post(local: UpResult, token: str, body: dict[str, Any]) -> Any:
    return call(
        "POST",
        f"{local.api_url}/v1/runs",
        token=token,
        body={"provider": "openai", "model": MODEL, **body},
    )


def _start(local: UpResult, token: str, body: dict[str, Any]) -> str:
    created = _post(local, token, body)
    assert created.status == 202, created.body
    return created.body["run_id"]


def _stopped(local: UpResult, token: str, run_id: str) -> dict[str, Any]:
    run = wait_for(local.api_url, token, run_id, {"STOPPED"}, timeout=120)
    assert run["exit_code"] == 0, run
    return run


def _events(local: UpResult, token: str, run_id: str, kind: str) -> list[dict[str, Any]]:
    events = all_events(local.api_url, token, run_id)
    return [
        e["data"]
        for e in events
        if isinstance(e.get("data"), dict) and e["data"].get("type") == kind
    ]


def _patch(local: UpResult, token: str, run_id: str) -> str:
    got = call("GET", f"{local.api_url}/v1/runs/{run_id}/patch", token=token)
    assert got.status == 200, got.body
    return got.body


def _git(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    return subprocess.run(
        ["git", "-C", str(work), *ident, *args], capture_output=True, text=True, check=check
    )


def _checkout(bare: Path, base: str, into: Path, patches: list[str]) -> Path:
    """A clone of `bare` at `base` with each of `patches` applied and committed."""
    # The runner hands the bare repository to the agent's uid, and git refuses to read a
    # repository another user owns: clone from a copy of our own.
    mine = into.parent / f"{into.name}.git"
    shutil.copytree(bare, mine)
    subprocess.run(["git", "clone", "-q", str(mine), str(into)], check=True)
    _git(into, "checkout", "-q", "--detach", base)
    for n, text in enumerate(patches):
        (into.parent / f"{into.name}-{n}.diff").write_text(text)
        _git(into, "apply", "--index", str(into.parent / f"{into.name}-{n}.diff"))
        _git(into, "commit", "-qm", f"patch {n}")
    return into


def run_continues_with_its_conversation(local: UpResult, token: str, tmp: Path) -> str:
    """Runs 1 and 2 and the refusals; run 2's id (the newest run of the chain)."""
    bare = local.paths.root / "repos" / "org" / "cloudagent.git"
    base = bare_repository(bare, {"README.md": "local repository\n"})

    first = _start(local, token, {"prompt": "run: echo one > notes.txt", "repo": REPO})
    run1 = _stopped(local, token, first)
    patch1 = _patch(local, token, first)
    assert run1["result"]["patch"]["base_commit"] == base and "+++ b/notes.txt" in patch1
    [saved] = _events(local, token, first, "session_saved")
    assert saved["messages"] >= 4 and saved["truncated"] is False, saved

    second = _start(local, token, {"prompt": "run: echo two >> notes.txt", "continue_from": first})
    run2 = _stopped(local, token, second)
    assert run2["repo"] == REPO and run2["parent_run_id"] == first
    meta = run2["result"]["patch"]
    assert (meta["parent_run_id"], meta["root_commit"]) == (first, base)
    assert meta["base_commit"] not in (None, base)
    [restored] = _events(local, token, second, "session_restored")
    assert (restored["parent_run_id"], restored["messages"]) == (first, saved["messages"])
    # pi resumed run 1's session: the model was sent both instructions.
    assert "user turns in this conversation: 2" in run2["result"]["final_message"]
    patch2 = _patch(local, token, second)
    assert "\n+two\n" in patch2 and "+one" not in patch2  # incremental: only run 2's line

    # Run 2's patch applies on run 1's base with run 1's patch committed, and only there.
    on_top = _checkout(bare, base, tmp / "on-top", [patch1])
    assert _git(on_top, "rev-parse", "HEAD").stdout.strip() != base
    _checkout(bare, base, tmp / "chained", [patch1, patch2])
    assert (tmp / "chained" / "notes.txt").read_text() == "one\ntwo\n"
    plain = _checkout(bare, base, tmp / "plain", [])
    (tmp / "run2.diff").write_text(patch2)
    refused = _git(plain, "apply", "--check", str(tmp / "run2.diff"), check=False)
    assert refused.returncode != 0, "run 2's patch must not apply without run 1's"

    _refusals(local, token, second)
    return second


def _refusals(local: UpResult, token: str, stopped_parent: str) -> None:
    """No repository -> 400; a running parent -> 409; a second continuation -> 409."""
    plain = _start(local, token, {"prompt": "run: true"})
    _stopped(local, token, plain)
    no_repo = _post(local, token, {"prompt": "run: true", "continue_from": plain})
    assert no_repo.status == 400 and "repositor" in no_repo.body["error"]["message"], no_repo.body

    running = _start(local, token, {"prompt": "run: sleep 60", "continue_from": stopped_parent})
    wait_for(local.api_url, token, running, {"RUNNING"}, timeout=120)
    try:
        of_running = _post(local, token, {"prompt": "run: true", "continue_from": running})
        assert of_running.status == 409 and "RUNNING" in of_running.body["error"]["message"]
        second = _post(local, token, {"prompt": "run: true", "continue_from": stopped_parent})
        assert second.status == 409 and running in second.body["error"]["message"], second.body
    finally:
        call("POST", f"{local.api_url}/v1/runs/{running}/stop", token=token)
        wait_for(local.api_url, token, running, {"STOPPED"}, timeout=120)


def readme_continue_command_extends_the_chain(
    local: UpResult, newest: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`python -m devtools.run --continue RUN_ID "..."` on the newest run of the chain."""
    monkeypatch.setenv("CLOUDAGENT_LOCAL_DIR", str(local.paths.root))
    code = run_command.main(["--continue", newest, "run: tail -n 1 notes.txt"])
    out, err = capsys.readouterr()
    assert code == 0, err
    # Run 2's line is there: the chain's patches were applied in order before this run.
    assert "first line of output: two" in out, out
