"""Start ``image/model-proxy`` as a process and read its JSON lines (host tests and bench).

The proxy prints ``proxy_start`` with the port it listens on (``MODEL_PROXY_PORT=0`` picks a
free one, so parallel tests never collide); :meth:`Proxy.stop` sends SIGTERM and returns
every line, ``proxy_end`` last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.pi_runtime import MODEL_PROXY, Runtime

KEY = "sk-real-key-held-by-the-proxy-0123456789"


@dataclass
class Proxy:
    """A running proxy, its stdout lines so far, and its URL once it listens."""

    proc: subprocess.Popen
    run_id: str = ""
    lines: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines)]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def port(self) -> int:
        return self.of("proxy_start")[0]["port"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_started(self, timeout: float = 15.0) -> Proxy:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any('"proxy_start"' in line for line in list(self.lines)):
                return self
            if self.proc.poll() is not None:
                self.finish()
                raise AssertionError(f"proxy exited {self.proc.returncode}: {self.lines}")
            time.sleep(0.02)
        raise AssertionError("the proxy did not start")

    def finish(self, timeout: float = 10.0) -> int:
        self.proc.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(5)
        return self.proc.returncode

    def stop(self) -> list[dict[str, Any]]:
        """SIGTERM, wait, and return every line (``proxy_end`` must be the last)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.finish()
        return self.events


def start_proxy(
    runtime: Runtime,
    upstream: str | None,
    *,
    provider: str = "openai",
    key_var: str = "OPENAI_API_KEY",
    key: str = KEY,
    cap: str = "25",
    run_id: str = "run-proxy",
    **extra: str,
) -> Proxy:
    """The proxy on a free port of 127.0.0.1, forwarding to ``upstream`` (local http allowed)."""
    env = {
        "PATH": runtime.path,
        "LANG": "C.UTF-8",
        "MODEL_PROXY_PROVIDER": provider,
        key_var: key,
        "MODEL_PROXY_MAX_COST_USD": cap,
        "MODEL_PROXY_PORT": "0",
        "RUN_ID": run_id,
        **(
            {"MODEL_PROXY_UPSTREAM": upstream, "MODEL_PROXY_ALLOW_LOCAL_UPSTREAM": "1"}
            if upstream
            else {}
        ),
        **extra,
    }
    env = {k: v for k, v in env.items() if v is not None}
    proc = subprocess.Popen(
        [str(MODEL_PROXY)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return watch(proc)


def watch(proc: subprocess.Popen) -> Proxy:
    """Read a started proxy's stdout and stderr lines in the background."""
    proxy = Proxy(proc=proc)

    def pump(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    proxy.readers = [
        threading.Thread(target=pump, args=(proc.stdout, proxy.lines), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, proxy.stderr), daemon=True),
    ]
    for reader in proxy.readers:
        reader.start()
    return proxy


def kill(proxy: Proxy) -> None:
    """Make sure nothing is left running (a test that failed half-way)."""
    if proxy.proc.poll() is None:
        os.killpg(proxy.proc.pid, signal.SIGKILL)
        proxy.proc.wait()
