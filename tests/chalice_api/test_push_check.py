"""The admin function asks GitHub whether a clone token can push before storing it.

GitHub is a real HTTP server on 127.0.0.1 here (no network in the tests): it answers
``GET /OWNER/NAME.git/info/refs?service=git-receive-pack`` with the status a test gives each
repository, and records what it was sent. 200 means the token can push (refused, naming the
repository); 401/403/404 that it cannot (stored); no answer means the check was skipped, which
the response says.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from chalicelib.cloud import push_check
from chalicelib.core import aws
from chalicelib.core import config as cfg

TOKEN = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@dataclass
class FakeGithub:
    """The statuses to answer per ``owner/name``, and every request as received."""

    url: str
    statuses: dict[str, int] = field(default_factory=dict)
    location: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture
def fake_github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGithub]:
    """A GitHub stand-in on 127.0.0.1 that the push check is pointed at."""
    state = FakeGithub(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Authorization", "")))
            repo = self.path.split(".git/", 1)[0].strip("/")
            status = state.statuses.get(repo, 404)
            self.send_response(status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(push_check, "GITHUB_URL", state.url)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch, repo_token_secret: str) -> list[str]:
    """private_repos on, two allowed repositories."""
    monkeypatch.setenv("ALLOWED_REPOS", "acme/agents,Acme/Docs")
    cfg.reset()
    return ["acme/agents", "acme/docs"]


def set_token(client: Any) -> dict[str, Any]:
    return client.lambda_.invoke("admin", {"action": "set_repo_token", "value": TOKEN}).payload


def stored(secret_arn: str) -> bool:
    versions = aws.client("secretsmanager").list_secret_version_ids(SecretId=secret_arn)
    return bool(versions["Versions"])


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_token_that_cannot_push_is_stored(
    client: Any, fake_github: FakeGithub, allowed: list[str], repo_token_secret: str, status: int
) -> None:
    fake_github.statuses = {"acme/agents": status, "acme/docs": 403}
    out = set_token(client)
    assert out["ok"] is True, out
    assert out["push_check"] == {"checked": allowed, "skipped": None}
    assert stored(repo_token_secret)
    # Each repository's receive-pack advertisement, asked with the token as git sends it.
    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert fake_github.requests == [
        (f"/{repo}.git/info/refs?service=git-receive-pack", expected) for repo in allowed
    ]


def test_a_token_that_can_push_is_refused_naming_the_repository(
    client: Any, fake_github: FakeGithub, allowed: list[str], repo_token_secret: str
) -> None:
    fake_github.statuses = {"acme/agents": 403, "acme/docs": 200}
    out = set_token(client)
    assert out["ok"] is False and out["error"]["code"] == "token_can_push"
    assert "acme/docs" in out["error"]["message"] and "read-only" in out["error"]["message"]
    assert TOKEN not in json.dumps(out)
    assert not stored(repo_token_secret)


def test_without_network_the_token_is_stored_and_the_check_skipped(
    client: Any, allowed: list[str], repo_token_secret: str
) -> None:
    out = set_token(client)  # the default: GitHub's URL is a closed port
    assert out["ok"] is True
    assert out["push_check"]["checked"] == []
    assert out["push_check"]["skipped"].startswith("GitHub could not be reached (URLError")
    assert stored(repo_token_secret)


@pytest.mark.parametrize("status", [500, 429])
def test_an_unexpected_answer_skips_the_check_and_says_so(
    client: Any, fake_github: FakeGithub, allowed: list[str], status: int
) -> None:
    fake_github.statuses = {"acme/agents": status}
    out = set_token(client)
    assert out["ok"] is True
    assert out["push_check"] == {
        "checked": [],
        "skipped": f"GitHub answered HTTP {status} for acme/agents",
    }


def test_a_redirect_is_not_followed_with_the_token(
    client: Any, fake_github: FakeGithub, allowed: list[str]
) -> None:
    fake_github.statuses = {"acme/agents": 301}
    fake_github.location = fake_github.url + "/elsewhere/agents.git/info/refs"
    out = set_token(client)
    assert out["push_check"]["skipped"] == "GitHub answered HTTP 301 for acme/agents"
    assert [path for path, _ in fake_github.requests] == [
        "/acme/agents.git/info/refs?service=git-receive-pack"
    ]


def test_the_request_cannot_choose_where_the_token_goes(client: Any, allowed: list[str]) -> None:
    event = {"action": "set_repo_token", "value": TOKEN, "github_url": "http://127.0.0.1:1"}
    out = client.lambda_.invoke("admin", event).payload
    assert out["ok"] is False and "unknown field" in out["error"]["message"]
