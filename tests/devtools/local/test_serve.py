"""The CloudFront stand-in takes a burst of connections as the real edge would: none dropped;
and the drills' fault hook of the API server kills it at ECS RunTask only when armed."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from devtools.local.paths import LocalPaths
from devtools.local.serve import (
    FAULTS_DIR,
    HOST,
    KILL_BEFORE_RUN_TASK,
    burst_ready,
    edge_server,
    fault_file,
    install_fault_hook,
)
from toolchain.paths import PROJECT_ROOT

BURST = 100


class _Origin(BaseHTTPRequestHandler):
    """The app's stand-in: answers 200 with the origin header it was sent."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = (self.headers.get("X-Origin-Verify") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[ThreadingHTTPServer]:
    server = burst_ready(ThreadingHTTPServer((HOST, 0), _Origin))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _connect_all(port: int) -> list[socket.socket]:
    """BURST connections opened while the server accepts none (each must complete at once:
    a dropped handshake is retried by the client only after a second)."""
    opened = []
    for _ in range(BURST):
        opened.append(socket.create_connection((HOST, port), timeout=0.5))
    return opened


def _answer(client: socket.socket) -> tuple[int, bytes]:
    response = http.client.HTTPResponse(client)
    response.begin()
    return response.status, response.read()


def test_a_burst_of_100_connections_is_queued_not_dropped(origin: ThreadingHTTPServer) -> None:
    edge = edge_server(0, origin.server_address[1], {"X-Origin-Verify": "secret"})
    port = edge.server_address[1]
    clients: list[socket.socket] = []
    try:
        clients = _connect_all(port)  # before the edge accepts anything
        thread = threading.Thread(target=edge.serve_forever, daemon=True)
        thread.start()
        for client in clients:
            client.settimeout(30)
            client.sendall(f"GET /v1/health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        answers = [_answer(client) for client in clients]
        assert answers == [(200, b"secret")] * BURST  # every one through, origin header added
    finally:
        for client in clients:
            client.close()
        edge.shutdown()
        edge.server_close()


def test_without_the_larger_backlog_the_burst_is_dropped() -> None:
    """Python's default backlog (5): the same burst cannot even connect - what was measured."""
    server = ThreadingHTTPServer((HOST, 0), _Origin)
    try:
        with pytest.raises(OSError):
            _connect_all(server.server_address[1])
    finally:
        server.server_close()


# --- the drills' fault hook: SIGKILL at ECS RunTask, only when armed ---------------------------

_CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, refused at once
_RUN_TASK = {"cluster": "c", "taskDefinition": "td"}


def _ecs() -> Any:
    """An ECS client whose calls fail fast without a network (one attempt, refused)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "ecs",
        endpoint_url=_CLOSED_PORT_URL,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )


@pytest.fixture
def hooked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, list[str]]:
    """The hook installed for this test only; (its fault file, the kills it asked for)."""
    import botocore.handlers

    monkeypatch.setattr(
        botocore.handlers, "BUILTIN_HANDLERS", list(botocore.handlers.BUILTIN_HANDLERS)
    )
    kills: list[str] = []
    armed = fault_file(tmp_path)
    install_fault_hook(armed, kill=lambda: kills.append("kill"))
    return armed, kills


def test_unarmed_the_hook_lets_run_task_through(hooked: tuple[Path, list[str]]) -> None:
    _, kills = hooked
    with pytest.raises(EndpointConnectionError):  # the call went on to the (absent) endpoint
        _ecs().run_task(**_RUN_TASK)
    assert kills == []


def test_armed_it_fires_at_run_task_only_and_once(hooked: tuple[Path, list[str]]) -> None:
    armed, kills = hooked
    armed.parent.mkdir(parents=True)
    armed.touch()
    ecs = _ecs()
    with pytest.raises(EndpointConnectionError):
        ecs.list_tasks(cluster="c")  # any other ECS call: not the moment of the fault
    assert kills == [] and armed.exists()
    with pytest.raises(EndpointConnectionError):
        ecs.run_task(**_RUN_TASK)  # the fake kill returns, so the call goes on
    assert kills == ["kill"] and not armed.exists()  # disarmed before it fired
    with pytest.raises(EndpointConnectionError):
        ecs.run_task(**_RUN_TASK)
    assert kills == ["kill"]  # one shot: the restarted server is healthy


# The child builds the same client as _ecs() (a test module imports no other test module).
_KILLED_CHILD = """
import sys
from pathlib import Path
import boto3
from botocore.config import Config
from devtools.local.serve import install_fault_hook
install_fault_hook(Path(sys.argv[1]))
ecs = boto3.session.Session().client(
    "ecs", endpoint_url=sys.argv[2], region_name="us-east-1", aws_access_key_id="testing",
    aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}, connect_timeout=1),
)
print("before", flush=True)
try:
    ecs.run_task(cluster="c", taskDefinition="td")
except Exception as error:
    print("survived", type(error).__name__, flush=True)
"""


@pytest.mark.parametrize("arm", [True, False])
def test_the_real_hook_sigkills_the_process_at_run_task(tmp_path: Path, arm: bool) -> None:
    """The process dies by SIGKILL (nothing after the call runs) when armed, and only then."""
    armed = fault_file(tmp_path)
    if arm:
        armed.parent.mkdir(parents=True)
        armed.touch()
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, str(armed), _CLOSED_PORT_URL],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if arm:
        assert child.returncode == -signal.SIGKILL, child.stderr
        assert child.stdout == "before\n" and not armed.exists()
        assert "SIGKILL before ECS RunTask" in child.stderr
    else:
        assert child.returncode == 0, child.stderr
        assert child.stdout == "before\nsurvived EndpointConnectionError\n"


def test_serve_arms_the_hook_from_the_local_dir_of_its_config(tmp_path: Path) -> None:
    """`python -m devtools.local.serve <local>/serve.json` checks `<local>/faults/...`, the
    file a drill arms through LocalPaths: one path, two readers."""
    assert fault_file(LocalPaths(tmp_path).serve_config.parent) == tmp_path / FAULTS_DIR / (
        KILL_BEFORE_RUN_TASK
    )
