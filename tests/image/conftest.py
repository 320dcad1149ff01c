"""Fixtures for the agent-image tests: Node 24 and the locked pi from npm, and a fake model.

The entrypoint is exercised with the real pi, installed exactly as the image installs it;
see ``devtools/pi_runtime.py`` for how and where (``.cache/image-node/``, reused across sessions).
As in a task, pi reaches the fake model only through ``image/model-proxy`` (one per test,
holding the key), and a repository is cloned by ``image/repo-init`` before the entrypoint starts.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentrun import Run, repo_init, start
from proxyrun import Proxy, kill, start_proxy

from devtools.fake_model import FakeOpenAI
from devtools.pi_runtime import MODEL, Runtime, ensure_runtime


@pytest.fixture(scope="session")
def runtime() -> Runtime:
    """Node and pi for the whole session (installed on first use)."""
    return ensure_runtime()


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    """One fake model server for the session; each test rescripts it through ``fake``."""
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The session server with an empty script; hanging requests are released afterwards."""
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture
def proxy(runtime: Runtime, fake: FakeOpenAI) -> Iterator[Proxy]:
    """The model proxy for one test: the ``openai`` provider's key, upstream the fake server."""
    p = start_proxy(runtime, fake.base_url, run_id="run-under-test").wait_started()
    yield p
    kill(p)


@pytest.fixture
def agent_env(tmp_path: Path, runtime: Runtime, proxy: Proxy) -> dict[str, str]:
    """A clean environment for one entrypoint run: no key, pi pointed at the proxy.

    The entrypoint writes ``models.json`` itself (the ``openai`` provider's ``baseUrl`` moved
    to the proxy, the placeholder key). ``settings.json`` shortens pi's retries and the SDK
    timeout so failures surface in seconds, not after the 10-minute SDK default.
    """
    agent_dir = tmp_path / "pi-agent"
    agent_dir.mkdir()
    (agent_dir / "settings.json").write_text(
        json.dumps(
            {
                "retry": {
                    "enabled": True,
                    "maxRetries": 1,
                    "baseDelayMs": 50,
                    "provider": {"timeoutMs": 8000, "maxRetries": 0},
                }
            }
        )
    )
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "workspace").mkdir()
    (tmp_path / "handoff").mkdir()
    return {
        "PATH": runtime.path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PI_OFFLINE": "1",
        "PI_CODING_AGENT_DIR": str(agent_dir),
        "AGENT_PROVIDER": "openai",
        "AGENT_MODEL": MODEL,
        "AGENT_MODEL_PROXY_URL": proxy.url,
        "AGENT_HANDOFF_DIR": str(tmp_path / "handoff"),
        "AGENT_STOP_GRACE_SECONDS": "1",
        "RUN_ID": f"run-{uuid.uuid4().hex[:12]}",
        "JOB_PROMPT": "Say hello.",
    }


@pytest.fixture
def entrypoint(tmp_path: Path, agent_env: dict[str, str]):
    """``entrypoint(**overrides)`` starts a run in the test's workspace; ``None`` unsets.

    With ``AGENT_REPO_URL`` set, ``repo-init`` runs first with the same environment (and
    ``AGENT_REPO_TOKEN`` if given, which only repo-init receives), unless ``clone=False``.
    Every run is checked on the way out: each stdout line is JSON, carries the RUN_ID, and
    the entrypoint's own start/end lines are there. Nothing is left running afterwards.
    """
    runs: list[Run] = []

    def _start(clone: bool = True, **overrides: str | None) -> Run:
        env = dict(agent_env)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        if clone and env.get("AGENT_REPO_URL"):
            init = repo_init(env, tmp_path / "workspace")
            assert init.returncode == 0, init.stderr
        env.pop("AGENT_REPO_TOKEN", None)
        run = start(env, tmp_path / "workspace")
        runs.append(run)
        return run

    yield _start
    for run in runs:
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait()
            continue
        events = run.events
        assert events[0]["type"] == "runtime_start", events[0]
        assert events[-1]["type"] == "runtime_end", events[-1]
        for event in events:
            assert event.get("run_id") == run.env.get("RUN_ID", ""), event


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
