"""The local fake model of `make up`: any provider, any model, no key, a predictable agent.

It speaks the OpenAI Responses API (`devtools.fake_model`'s streaming code); the runner points
every provider of a run at it through pi's `models.json` (`pi_config.models_json`). It is not
scripted per test but answers from the conversation itself, so many runs can share it:

* no tool result since the last user message -> one `bash` tool call: `<command>` when that
  message is `run: <command>`, otherwise a harmless `pwd && ls -A`;
* a tool result -> a final message quoting the command, the first line of its output and how
  many user turns the conversation holds (a continued run whose session came back says 2).

So `run: sleep 120` makes a run that lasts, and `run: echo hi >> README.md` a run that leaves
a patch. Bound to 127.0.0.1; only the runner tells agents about it, nothing of it is deployed.
"""

from __future__ import annotations

import threading
from typing import Any

from devtools.fake_model import FakeOpenAI, Step, text, tool

RUN_PREFIX = "run:"
DEFAULT_COMMAND = "pwd && ls -A"


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [str(p.get("text", "")) for p in content if isinstance(p, dict)]
    return []


def _is_user(item: dict[str, Any]) -> bool:
    return item.get("role") == "user"


def prompt_of(body: dict[str, Any]) -> str:
    """The last user message of a Responses request: pi sends the whole conversation, and a
    continued run's resumed session holds its parent's turns before the new instruction."""
    users = [i for i in body.get("input") or [] if isinstance(i, dict) and _is_user(i)]
    return "\n".join(_texts(users[-1].get("content"))).strip() if users else ""


def command_for(prompt: str) -> str:
    """`run: <command>` -> `<command>`; anything else -> DEFAULT_COMMAND."""
    if prompt.lower().startswith(RUN_PREFIX):
        return prompt[len(RUN_PREFIX) :].strip() or DEFAULT_COMMAND
    return DEFAULT_COMMAND


def answer(body: dict[str, Any]) -> Step:
    """The next step of the conversation in `body`."""
    items = [i for i in body.get("input") or [] if isinstance(i, dict)]
    turns = sum(1 for i in items if _is_user(i))
    last_user = max((n for n, i in enumerate(items) if _is_user(i)), default=-1)
    outputs = [i for i in items[last_user + 1 :] if i.get("type") == "function_call_output"]
    command = command_for(prompt_of(body))
    if not outputs:
        return tool("bash", {"command": command})
    raw = outputs[-1].get("output")
    output = "\n".join(_texts(raw)) if not isinstance(raw, str) else raw
    first = next((line for line in output.splitlines() if line.strip()), "(no output)")
    return text(
        f"Ran `{command}` with the local fake model; first line of output: {first[:200]} "
        f"(user turns in this conversation: {turns})"
    )


class LocalModel(FakeOpenAI):
    """A FakeOpenAI whose answers come from the conversation, not from a queue."""

    def __init__(self, port: int = 0) -> None:
        # A long-lived server: no lifetime timer (it lives as long as the runner).
        super().__init__(max_lifetime_s=10**8)
        if port:
            self._rebind(port)
        self.count = 0
        self._count_lock = threading.Lock()

    def _rebind(self, port: int) -> None:
        from http.server import ThreadingHTTPServer

        self._httpd.server_close()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _next_step(self, body: dict[str, Any], auth: str) -> tuple[Step, threading.Event]:
        with self._count_lock:
            self.count += 1  # requests are not kept: the server serves many runs
        return answer(body), self._release
