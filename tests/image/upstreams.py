"""Local stand-ins for the four provider APIs pi speaks, for the model-proxy tests.

Each answers its one endpoint with a response that reports known usage, streamed (SSE) or
as JSON, and records what reached it (path, query, headers, body). ``USAGE`` is what pi-ai
would read from every answer: 1000 uncached input tokens, 300 cache reads, 50 output tokens
(and, for Anthropic, 200 cache writes).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"input": 1000, "output": 50, "cacheRead": 300, "cacheWrite": 0}
ANTHROPIC_USAGE = {**USAGE, "cacheWrite": 200}

# provider -> (model priced in pi's table, proxy path, streaming query)
CASES = {
    "anthropic": ("claude-sonnet-4-5", "/v1/messages", ""),
    "openai": ("gpt-4o-mini", "/responses", ""),
    "google": ("gemini-2.5-flash", "/models/gemini-2.5-flash:streamGenerateContent", "?alt=sse"),
    "xai": ("grok-4", "/chat/completions", ""),
    "openrouter": ("openai/gpt-4o-mini", "/chat/completions", ""),
}
KEY_VARS = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "google": "GEMINI_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}


def sse(events: list[tuple[str | None, Any]]) -> bytes:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        body = data if isinstance(data, str) else json.dumps(data)
        out.append(f"{head}data: {body}\n\n")
    return "".join(out).encode()


def anthropic(stream: bool) -> bytes:
    start_usage = {
        "input_tokens": 1000,
        "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 300,
        "output_tokens": 1,
    }
    if not stream:
        return json.dumps(
            {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "hi"}],
             "usage": {**start_usage, "output_tokens": 50}}
        ).encode()  # fmt: skip
    return sse(
        [
            ("message_start", {"type": "message_start", "message": {"usage": start_usage}}),
            ("content_block_delta", {"type": "content_block_delta", "delta": {"text": "hi"}}),
            ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 50}}),
            ("message_stop", {"type": "message_stop"}),
        ]
    )


def responses(stream: bool) -> bytes:
    usage = {
        "input_tokens": 1300,
        "input_tokens_details": {"cached_tokens": 300},
        "output_tokens": 50,
    }
    resp = {"object": "response", "id": "r1", "status": "completed", "usage": usage}
    if not stream:
        return json.dumps(resp).encode()
    return sse(
        [
            ("response.created", {"type": "response.created", "response": {"id": "r1"}}),
            ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "hi"}),
            ("response.completed", {"type": "response.completed", "response": resp}),
        ]
    )


def completions(stream: bool) -> bytes:
    usage = {"prompt_tokens": 1300, "completion_tokens": 50,
             "prompt_tokens_details": {"cached_tokens": 300}}  # fmt: skip
    if not stream:
        return json.dumps({"choices": [{"message": {"content": "hi"}}], "usage": usage}).encode()
    return sse(
        [
            (None, {"choices": [{"delta": {"content": "hi"}}]}),
            (None, {"choices": [], "usage": usage}),
            (None, "[DONE]"),
        ]
    )


def google(stream: bool) -> bytes:
    meta = {"promptTokenCount": 1300, "cachedContentTokenCount": 300,
            "candidatesTokenCount": 40, "thoughtsTokenCount": 10}  # fmt: skip
    early = {**meta, "candidatesTokenCount": 1, "thoughtsTokenCount": 0}
    first = {"candidates": [{"content": {"parts": [{"text": "h"}]}}], "usageMetadata": early}
    last = {"candidates": [{"content": {"parts": [{"text": "i"}]}}], "usageMetadata": meta}
    if not stream:
        return json.dumps(last).encode()
    return sse([(None, first), (None, last)])


BODIES = {
    "anthropic": anthropic,
    "openai": responses,
    "google": google,
    "xai": completions,
    "openrouter": completions,
}


@dataclass
class Upstream:
    """One fake provider API on 127.0.0.1; ``base_url`` is what MODEL_PROXY_UPSTREAM names."""

    provider: str
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/base"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        up = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                up.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                stream = bool(body.get("stream")) or "alt=sse" in self.path
                if up.status != 200:
                    data = json.dumps({"error": {"message": "upstream says no"}}).encode()
                    ctype = "application/json"
                else:
                    data = BODIES[up.provider](stream)
                    ctype = "text/event-stream" if stream else "application/json"
                up.sent.append(data)
                self.send_response(up.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                # several writes, split inside events, as a real stream arrives
                for i in range(0, len(data), 37):
                    self.wfile.write(data[i : i + 37])
                    self.wfile.flush()

        return Handler
