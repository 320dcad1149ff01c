"""`python -m devtools.run`'s arguments, and `--continue` against a stand-in API.

The end-to-end run under `make up` is tests/e2e/test_embedded_aws.py's; here the argument
handling runs alone, and main() talks HTTP to a small fake of the control API (no make up).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from devtools import run
from toolchain.paths import PROJECT_ROOT

PARENT = "run_01JQ8Z3K4M5N6P7Q8R9S0T1V2W"
NEW = "run_01JQ900000000000000000000A"


def test_the_run_id_pattern_is_the_apis():
    spec = importlib.util.spec_from_file_location(
        "ids", PROJECT_ROOT / "chalice_api" / "chalicelib" / "core" / "ids.py"
    )
    ids = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ids)
    assert run.RUN_ID_RE.pattern == ids.RUN_ID_RE.pattern
    assert run.RUN_ID_RE.fullmatch(ids.new_run_id())


def test_continue_sends_continue_from_with_the_instruction():
    args = run.parse_args(["--continue", PARENT, "Also handle ISO weeks"])
    assert run.request_body(args) == {
        "prompt": "Also handle ISO weeks",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "continue_from": PARENT,
    }
    args = run.parse_args(
        ["--continue", PARENT, "--repo", "org/cloudagent", "--max-cost", "0.5", "go on"]
    )
    assert run.request_body(args) == {
        "prompt": "go on",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "continue_from": PARENT,
        "repo": "org/cloudagent",  # the API checks it is the parent's
        "max_cost_usd": 0.5,
    }


def test_a_first_run_sends_no_continue_from():
    args = run.parse_args(["--repo", "org/cloudagent", "--ref", "main", "hi"])
    assert run.request_body(args) == {
        "prompt": "hi",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "repo": "org/cloudagent",
        "ref": "main",
    }


@pytest.mark.parametrize(
    "bad",
    [
        "01JQ8Z3K4M5N6P7Q8R9S0T1V2W",  # no prefix
        "run_01jq8z3k4m5n6p7q8r9s0t1v2w",  # lower case
        "run_01JQ8Z3K4M5N6P7Q8R9S0T1V2",  # 25 characters
        "run_01JQ8Z3K4M5N6P7Q8R9S0T1V2WX",  # 27
        "run_01JQ8Z3K4M5N6P7Q8R9S0T1V2I",  # I is not Crockford base32
        f" {PARENT}",
        f"{PARENT}/../x",
        "",
    ],
)
def test_a_bad_run_id_is_refused_clearly_before_any_call(
    bad, tmp_path, monkeypatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("CLOUDAGENT_LOCAL_DIR", str(tmp_path))  # nothing is up there
    with pytest.raises(SystemExit) as exit_:
        run.main(["--continue", bad, "go on"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --continue: {bad!r} is not a run id" in err
    assert "nothing is up" not in err  # refused before looking for make up


def test_continue_with_a_ref_is_refused(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        run.parse_args(["--continue", PARENT, "--ref", "main", "go on"])
    assert exit_.value.code == 2
    assert "--ref cannot be used with --continue" in capsys.readouterr().err


# --- main() against a stand-in API ---------------------------------------------------------


class FakeApi(BaseHTTPRequestHandler):
    """POST /v1/runs, GET /v1/runs/{id} (stopped at once) and GET /v1/runs/{id}/patch."""

    posted: ClassVar[list[dict[str, Any]]] = []
    patch_text = "diff --git a/dates.py b/dates.py\n"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        FakeApi.posted.append(json.loads(self.rfile.read(length)))
        self._send(201, json.dumps({"run_id": NEW, "status": "PENDING"}).encode())

    def do_GET(self) -> None:
        if self.path == f"/v1/runs/{NEW}/patch":
            self._send(200, self.patch_text.encode(), "text/x-diff")
            return
        patch = {
            "chunks": 1,
            "files_changed": 1,
            "insertions": 1,
            "deletions": 1,
            "base_commit": "c" * 40,
            "parent_run_id": PARENT,
            "root_commit": "a" * 40,
        }
        record = {
            "run_id": NEW,
            "status": "STOPPED",
            "exit_code": 0,
            "parent_run_id": PARENT,
            "result": {"final_message": "Done: ISO weeks.", "usage": {}, "patch": patch},
        }
        self._send(200, json.dumps(record).encode())


@pytest.fixture
def up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A `make up` state pointing at the stand-in API."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeApi.posted = []
    state = {
        "api_url": f"http://127.0.0.1:{server.server_port}",
        "issuer_url": "http://127.0.0.1:1",
        "audience": "cloudagent-dev",
        "subject": "repo:org/cloudagent:environment:dev",
    }
    (tmp_path / "up.json").write_text(json.dumps(state))
    monkeypatch.setenv("CLOUDAGENT_LOCAL_DIR", str(tmp_path))
    yield tmp_path
    server.shutdown()
    server.server_close()


def test_continue_follows_the_run_and_saves_its_incremental_patch(
    up: Path, capsys: pytest.CaptureFixture[str]
):
    code = run.main(["--continue", PARENT, "Also handle ISO weeks"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert FakeApi.posted == [
        {
            "prompt": "Also handle ISO weeks",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "continue_from": PARENT,
        }
    ]
    assert f"run {NEW}: PENDING (continues {PARENT})" in err
    assert f"run {NEW}: STOPPED, exit code 0" in err
    saved = up / "patches" / f"{NEW}.diff"
    assert saved.read_text() == FakeApi.patch_text
    assert f"saved to {saved} (git apply it after run {PARENT}'s patch)" in err
    assert out == "Done: ISO weeks.\n"
