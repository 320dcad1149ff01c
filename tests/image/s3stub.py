"""A stand-in for S3 behind presigned URLs, on 127.0.0.1, for the continuation tests.

The task reaches the artifact bucket only through URLs the control plane presigned: repo-init
GETs a continuation's bundle, the agent PUTs its session. This server keeps objects by path,
answers GET and PUT as S3 does (200, or 404 ``NoSuchKey``), records every request, and can
be told to fail a method with an S3-style XML error. URLs carry a fake signature in the
query, which the server ignores and tests look for in the logs (it must never appear).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIGNATURE = "X-Amz-Signature=c0ffee5ecret0000000000000000000000000000000000000000000000000000"
ERRORS = {403: "AccessDenied", 404: "NoSuchKey", 500: "InternalError"}


@dataclass
class S3Stub:
    """Objects by key, the requests seen, and per-method failures (``fail["PUT"] = 403``)."""

    objects: dict[str, bytes] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    # GET answers declare this Content-Length instead of the object's (an oversized bundle)
    declare_length: int | None = None

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}/bucket"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def url(self, key: str) -> str:
        """The "presigned" URL of ``key``."""
        return f"{self.base}/{key}?X-Amz-Expires=900&{SIGNATURE}"

    def put_json(self, key: str, doc: Any) -> None:
        self.objects[key] = json.dumps(doc).encode()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt: str, *args: Any) -> None:
                return

            def _key(self) -> str:
                return self.path.split("?", 1)[0].removeprefix("/bucket/")

            def _answer(self, code: int, body: bytes = b"", length: int | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, code: int) -> None:
                name = ERRORS.get(code, "Error")
                xml = f"<Error><Code>{name}</Code><Message>stub says {code}</Message></Error>"
                self._answer(code, xml.encode())

            def do_GET(self) -> None:  # http.server's naming
                key = self._key()
                stub.requests.append({"method": "GET", "key": key, "path": self.path})
                if "GET" in stub.fail:
                    self._error(stub.fail["GET"])
                elif key not in stub.objects:
                    self._error(404)
                else:
                    self._answer(200, stub.objects[key], stub.declare_length)

            def do_PUT(self) -> None:  # http.server's naming
                key = self._key()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.requests.append(
                    {
                        "method": "PUT",
                        "key": key,
                        "headers": dict(self.headers.items()),
                        "body": body,
                    }
                )
                if "PUT" in stub.fail:
                    self._error(stub.fail["PUT"])
                    return
                stub.objects[key] = body
                self._answer(200)

        return Handler
