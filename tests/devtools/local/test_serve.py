"""The CloudFront stand-in takes a burst of connections as the real edge would: none dropped."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devtools.local.serve import HOST, burst_ready, edge_server

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
