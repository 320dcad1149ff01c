"""A scriptable fake of the OpenAI Responses API, streaming, on 127.0.0.1.

pi's built-in ``openai`` provider talks to ``POST {baseUrl}/responses`` (api
``openai-responses`` in pi-ai's model table), not to chat completions. The tests keep the
provider id ``openai`` and only point its ``baseUrl`` here through
``$PI_CODING_AGENT_DIR/models.json``, so the code path under test is the one production uses.

Each test queues *steps*; every request to ``/v1/responses`` consumes one:

* ``text(s)``            stream an assistant message ``s`` and complete;
* ``tool(name, args)``   stream one function call and complete (pi then runs the tool);
* ``status(code)``       answer with an HTTP error and a JSON error body;
* ``hang()``             accept the request and send nothing until the next reset() or stop();
* ``partial(s)``         stream the start of message ``s`` and then hang (a stop mid-stream).

Every completed response reports ``usage`` (``USAGE``: input tokens including cached ones,
the cached part, output tokens), so tests know the token totals a run must add up to.

With the queue empty the server answers ``text("done")``, so an agent loop always ends.
Every request body is recorded (``requests``) so tests can assert on what reached the model.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What every completed response reports; pi turns it into input = 100, cacheRead = 20,
# output = 30 per assistant message (OpenAI counts cached tokens inside input_tokens).
USAGE = {
    "input_tokens": 120,
    "input_tokens_details": {"cached_tokens": 20},
    "output_tokens": 30,
    "total_tokens": 150,
}


@dataclass
class Step:
    """One scripted answer; ``kind`` is text, tool, status, hang or partial."""

    kind: str
    text: str = ""
    name: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    code: int = 200


def text(s: str) -> Step:
    """Answer with a final assistant message."""
    return Step("text", text=s)


def tool(name: str, args: dict[str, Any]) -> Step:
    """Answer with a single tool call."""
    return Step("tool", name=name, args=args)


def status(code: int) -> Step:
    """Answer with an HTTP error, as a failing or rejecting provider would."""
    return Step("status", code=code)


def hang() -> Step:
    """Never answer (until the server stops): a stuck provider."""
    return Step("hang")


def partial(s: str) -> Step:
    """Stream the first words of ``s``, then stall: a stop arrives while the model writes."""
    return Step("partial", text=s)


class FakeOpenAI:
    """The server plus its script and request log; start() / stop() bracket its life."""

    def __init__(self, max_lifetime_s: float = 600.0) -> None:
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._release = threading.Event()  # set to let the current hanging handlers go
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self._max_lifetime_s = max_lifetime_s
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._reaper = threading.Timer(max_lifetime_s, self.stop)
        self._reaper.daemon = True

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        """Serve in a daemon thread; a timer stops it even if a test forgets to."""
        self._thread.start()
        self._reaper.start()
        return self

    def stop(self) -> None:
        """Release hanging handlers, stop serving and close the socket (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._release.set()
        self._reaper.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self, *steps: Step) -> None:
        """Replace the script and forget earlier requests (one server serves many tests)."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self._steps = list(steps)
            self.requests.clear()
            self.auth_headers.clear()

    def _next_step(self, body: dict[str, Any], auth: str) -> tuple[Step, threading.Event]:
        with self._lock:
            self.requests.append(body)
            self.auth_headers.append(auth)
            step = self._steps.pop(0) if self._steps else text("done")
            return step, self._release

    # -- HTTP ---------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt: str, *args: Any) -> None:  # keep pytest output clean
                return

            def do_POST(self) -> None:  # http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not self.path.rstrip("/").endswith("/responses"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "bad json"}})
                    return
                step, release = fake._next_step(body, self.headers.get("Authorization", ""))
                if step.kind == "status":
                    self._json(step.code, {"error": {"message": f"fake {step.code}"}})
                elif step.kind == "hang":
                    release.wait(fake._max_lifetime_s)
                    self.close_connection = True
                else:
                    self._stream(step)
                    if step.kind == "partial":
                        release.wait(fake._max_lifetime_s)

            def _json(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, step: Step) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                for event in _events(step):
                    chunk = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                    self.wfile.write(chunk.encode())
                    self.wfile.flush()

        return Handler


def _events(step: Step) -> list[dict[str, Any]]:
    """The Responses-API event sequence pi-ai's processResponsesStream consumes."""
    rid = f"resp_{time.monotonic_ns()}"
    out: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": rid, "status": "in_progress"}}
    ]
    out += _tool_call_events(step) if step.kind == "tool" else _message_events(step)
    if step.kind == "partial":
        # the first two words only: no output_item.done, no response.completed
        return out[:5]
    out.append(
        {
            "type": "response.completed",
            "response": {"id": rid, "status": "completed", "usage": USAGE},
        }
    )
    return out


def _tool_call_events(step: Step) -> list[dict[str, Any]]:
    """One function call, its arguments in a single delta."""
    arguments = json.dumps(step.args)
    item = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": step.name,
        "arguments": "",
        "status": "in_progress",
    }
    done = dict(item, arguments=arguments, status="completed")
    return [
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": arguments},
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_1",
            "arguments": arguments,
        },
        {"type": "response.output_item.done", "output_index": 0, "item": done},
    ]


def _message_events(step: Step) -> list[dict[str, Any]]:
    """One assistant message, streamed word by word."""
    item = {"type": "message", "id": "msg_1", "role": "assistant", "content": []}
    out: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    # Several small deltas, as a real model streams: each one becomes a message_update.
    words = step.text.split(" ")
    for i, word in enumerate(words):
        delta = word if i == 0 else " " + word
        out.append({"type": "response.output_text.delta", "item_id": "msg_1", "delta": delta})
    part = {"type": "output_text", "text": step.text, "annotations": []}
    done = dict(item, content=[part], status="completed")
    out.append({"type": "response.output_item.done", "output_index": 0, "item": done})
    return out
