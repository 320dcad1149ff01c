"""The agent image, built by `make image`'s code and run with buildah (docs/ARCHITECTURE.md §4).

The session builds ``image/Dockerfile`` once (``devtools.image.ensure_image``: on the local
stand-in for the ``node:…-bookworm-slim`` base, rebuilt only when ``image/`` changes) and runs
it with ``buildah run --isolation chroot`` as the image's configured user. The host network is
shared, so the fake model server on 127.0.0.1 answers the pi inside the image.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools import image as image_build
from devtools.fake_model import FakeOpenAI, hang, status, text, tool
from devtools.pi_runtime import MODEL
from stacks.agent.container import AGENT_CAPABILITY_DROP
from toolchain.paths import PROJECT_ROOT

REASON = image_build.available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"image tests skipped: {REASON}")

# Collection happens first, on every worker: start a cold build now so it overlaps the rest
# of the suite; the ``image`` fixture waits for it (build lock) instead of starting its own.
BACKGROUND_BUILD = image_build.build_in_background(image_build.CACHE / "build.log")
CAP_SETUID = 7  # capability number (linux/capability.h)
PI_AGENT_DIR = "/tmp/pi-agent"  # where a run's pi configuration is mounted in the container
CREDENTIAL_NAME = re.compile(r"API_KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|_proxy$", re.IGNORECASE)


@dataclass
class Container:
    """A buildah working container of an image, and its file system on the host."""

    name: str
    root: Path

    def run(
        self,
        *cmd: str,
        env: dict[str, str] | None = None,
        volumes: tuple[str, ...] = (),
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """``buildah run`` as the image's user, in its working directory, on the host network.

        Capabilities are dropped as ECS drops them. Under ``--isolation chroot`` buildah keeps
        ``CAP_SETUID`` in the bounding set (it switches to the image's user itself); ECS keeps
        nothing.
        """
        args = ["run", "--isolation", "chroot", "--network", "host"]
        for capability in AGENT_CAPABILITY_DROP:  # as the task definition runs it
            args += ["--cap-drop", capability]
        for key, value in (env or {}).items():
            args += ["--env", f"{key}={value}"]
        for volume in volumes:
            args += ["--volume", volume]
        return subprocess.run(
            ["buildah", "--storage-driver", "vfs", *args, self.name, "--", *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def out(self, *cmd: str) -> str:
        """Run, require exit 0, return stdout stripped."""
        proc = self.run(*cmd)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()


TEST_CONTAINER = "cloudagent-agent-test-"


def _containers() -> list[str]:
    out = image_build.buildah("containers", "--noheading", "--format", "{{.ContainerName}}")
    return out.split()


def reusable_container(reference: str) -> Container:
    """A working container of ``reference``, named after the image id and kept for reuse.

    With ``vfs`` making a container copies the whole image (~500 MB, 20-50 s on two busy
    cores) and removing one costs about as much again, so a session reuses the container of
    the same image, with ``/workspace`` and ``/tmp`` emptied first; a new image replaces it.
    ``buildah rm`` removes it by hand (its name starts with ``cloudagent-agent-test-``).
    """
    name = TEST_CONTAINER + image_build.image_id(reference)[:12]
    existing = _containers()
    for stale in [c for c in existing if c.startswith(TEST_CONTAINER) and c != name]:
        image_build.buildah("rm", stale)
    if name not in existing:
        image_build.buildah("from", "--pull-never", "--name", name, reference)
    root = Path(image_build.buildah("mount", name))
    for place in ("workspace", "tmp"):
        for path in (root / place).iterdir():
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    return Container(name=name, root=root)


@pytest.fixture(scope="session")
def image() -> str:
    """The image, built by the code ``make image`` runs (once per change of ``image/``)."""
    if BACKGROUND_BUILD is not None:
        BACKGROUND_BUILD.wait()  # its failure shows in ensure_image's own attempt below
    return image_build.ensure_image()


@pytest.fixture(scope="session")
def config(image: str) -> dict[str, Any]:
    """The image's OCI config (user, env, working dir, entrypoint, labels)."""
    return json.loads(image_build.buildah("inspect", "--type", "image", image))["OCIv1"]["config"]


@pytest.fixture(scope="session")
def box(image: str) -> Container:
    """The working container the tests run commands in; runs write distinct files."""
    return reusable_container(image)


# --- what the image is ----------------------------------------------------------------------


def test_configured_user_is_operator_uid_1000(box: Container, config: dict[str, Any]) -> None:
    assert config["User"] == "1000:1000"
    assert box.out("id", "-u") == "1000"
    assert box.out("id", "-g") == "1000"
    assert box.out("id", "-un") == "operator"
    assert box.out("id", "-gn") == "operator"


def test_tools_at_their_versions(box: Container) -> None:
    """git, rg, fd, the Dockerfile's Node and pi at the version the lock file pins."""
    assert box.out("git", "--version").startswith("git version 2.")
    assert box.out("rg", "--version").startswith("ripgrep 13.")
    assert box.out("fd", "--version").startswith("fdfind 8.")  # Debian names it so
    node = image_build.dockerfile_base().node_version
    assert node.startswith("24.")
    assert box.out("node", "--version") == f"v{node}"
    lock = json.loads((PROJECT_ROOT / "image/package-lock.json").read_text())
    pi = lock["packages"]["node_modules/@mariozechner/pi-coding-agent"]["version"]
    proc = box.run("pi", "--version")
    assert proc.returncode == 0 and (proc.stdout + proc.stderr).strip() == pi, proc


def test_workspace_is_the_writable_working_directory(
    box: Container, config: dict[str, Any]
) -> None:
    assert config["WorkingDir"] == "/workspace"
    assert box.out("pwd") == "/workspace"
    box.out("sh", "-c", "echo ok > probe.txt && git init -q repo && git -C repo status -s")
    assert (box.root / "workspace/probe.txt").read_text() == "ok\n"
    assert box.out("stat", "-c", "%u:%g %a", "/workspace") == "1000:1000 755"


def test_no_credential_in_the_image_config(config: dict[str, Any]) -> None:
    env = dict(e.split("=", 1) for e in config.get("Env", []))
    assert env.get("PI_OFFLINE") == "1"
    assert not [k for k in env if CREDENTIAL_NAME.search(k)], env
    assert config["Entrypoint"] == ["/usr/local/bin/entrypoint"]


def _files(root: Path) -> dict[str, os.stat_result]:
    """Every path under ``root`` (not following links) with its lstat."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.lstat()
    return out


def _machine_ca_bodies() -> list[bytes]:
    """The base64 body of each certificate this machine trusts beyond Debian's own set."""
    bodies = []
    for crt in Path("/usr/local/share/ca-certificates").rglob("*.crt"):
        pem = crt.read_bytes()
        body = b"".join(
            line.strip() for line in pem.splitlines() if line and not line.startswith(b"-----")
        )
        bodies.append(body[:120])
    return bodies


def test_build_left_nothing_of_the_machine_in_the_image(image: str) -> None:
    """No CA bundle copy, npmrc or apt/proxy configuration was added by the build.

    The build mounts the machine's CA bundle and an npmrc over /usr/local/etc for its RUN
    steps only: compare the image's files with its base's and look at what the build added.
    """
    old = _files(image_build.image_rootfs(image_build.dockerfile_base().reference))
    root = image_build.image_rootfs(image)
    new = _files(root)
    added = {p: st for p, st in new.items() if p not in old or old[p].st_mtime != st.st_mtime}
    assert "opt/pi/node_modules/.bin/pi" in added
    assert not [p for p in new if p.startswith("usr/local/etc/")], "build mount left behind"
    assert not [p for p in added if Path(p).name in ("npmrc", ".npmrc")]
    assert not [p for p in new if p.startswith("root/.npm")], "npm's logs record the build config"
    for rel in [p for p in added if p.startswith("etc/apt/")]:
        if stat.S_ISREG(added[rel].st_mode):
            assert "proxy" not in (root / rel).read_text(errors="replace").lower(), rel
    machine_cas = _machine_ca_bodies()
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    assert bundle.exists(), "ca-certificates made the image's own bundle"
    flat = b"".join(bundle.read_bytes().split())
    assert not [b for b in machine_cas if b in flat], "the machine's own CA is in the image"
    for rel, st in added.items():
        if stat.S_ISREG(st.st_mode) and Path(rel).suffix in (".crt", ".pem"):
            data = b"".join((root / rel).read_bytes().split())
            assert not [b for b in machine_cas if b in data], rel


# --- real headless runs through the entrypoint, inside the image ----------------------------


@pytest.fixture
def pi_config(tmp_path: Path, fake: FakeOpenAI) -> str:
    """pi's models.json/settings.json for the fake server, as a volume spec (owned by 1000).

    As in the host entrypoint tests: only the built-in ``openai`` provider's ``baseUrl``
    moves; retries and the SDK timeout are short so failures surface in seconds.
    """
    agent_dir = tmp_path / "pi-agent"
    agent_dir.mkdir()
    (agent_dir / "models.json").write_text(
        json.dumps({"providers": {"openai": {"baseUrl": fake.base_url}}})
    )
    settings = {
        "retry": {
            "enabled": True,
            "maxRetries": 1,
            "baseDelayMs": 50,
            "provider": {"timeoutMs": 8000, "maxRetries": 0},
        }
    }
    (agent_dir / "settings.json").write_text(json.dumps(settings))
    for path in (agent_dir, *agent_dir.iterdir()):  # pi takes lock files beside its settings
        os.chown(path, 1000, 1000)
    return f"{agent_dir}:{PI_AGENT_DIR}"


@dataclass
class AgentRun:
    """What one containerised entrypoint run printed, parsed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def end(self) -> dict[str, Any]:
        """The final ``runtime_end`` line; its ``result`` must be an object if present."""
        last = self.events[-1]
        assert last["type"] == "runtime_end", self.stdout[-500:]
        if "result" in last:
            assert isinstance(last["result"], dict), last["result"]
        return last


@pytest.fixture
def agent(box: Container, pi_config: str):
    """``agent(prompt, **env)`` runs /usr/local/bin/entrypoint in the image, as ECS would."""

    def _run(prompt: str, timeout: float = 60, **env: str) -> AgentRun:
        run_env = {
            "JOB_PROMPT": prompt,
            "AGENT_PROVIDER": "openai",
            "AGENT_MODEL": MODEL,
            "OPENAI_API_KEY": "sk-test-dummy",
            "AGENT_STOP_GRACE_SECONDS": "1",
            "RUN_ID": f"run-{uuid.uuid4().hex[:12]}",
            "PI_CODING_AGENT_DIR": PI_AGENT_DIR,
            **env,
        }
        proc = box.run(
            "/usr/local/bin/entrypoint", env=run_env, volumes=(pi_config,), timeout=timeout
        )
        run = AgentRun(proc.returncode, proc.stdout, proc.stderr)
        assert {e.get("run_id") for e in run.events} == {run_env["RUN_ID"]}, run.stdout[-500:]
        return run

    return _run


def test_headless_run_executes_the_tool_in_workspace(agent, fake: FakeOpenAI, box: Container):
    name = f"made-{uuid.uuid4().hex[:6]}.txt"
    fake.reset(
        tool("bash", {"command": f"printf hello > {name}; pwd >> {name}; id -u >> {name}"}),
        text("I wrote the file."),
    )
    run = agent("Write a file.")
    assert run.returncode == 0, run.stderr
    assert (box.root / "workspace" / name).read_text() == "hello/workspace\n1000\n"
    types = [e["type"] for e in run.events]
    assert types[0] == "runtime_start"
    assert "tool_execution_start" in types and "tool_execution_end" in types
    end = run.end()
    assert end["exit_code"] == 0 and end["stop_reason"] == "stop"
    assert fake.auth_headers[0] == "Bearer sk-test-dummy"


def test_headless_run_needs_no_capability(agent, fake: FakeOpenAI, box: Container) -> None:
    """pi, bash and git work in a container with every capability dropped."""
    name = f"caps-{uuid.uuid4().hex[:6]}"
    fake.reset(
        tool(
            "bash",
            {
                "command": f"grep -E '^Cap(Eff|Bnd)' /proc/self/status > {name}.txt; "
                f"git init -q {name} && git -C {name} -c user.name=a -c user.email=a@b.c "
                f"commit -q --allow-empty -m made && git -C {name} log --format=%s >> {name}.txt"
            },
        ),
        text("Done."),
    )
    run = agent("Commit.")
    assert run.returncode == 0, run.stderr
    effective, bounding, subject = (
        (box.root / "workspace" / f"{name}.txt").read_text().split("\n")[:3]
    )
    assert int(effective.split()[1], 16) == 0
    assert int(bounding.split()[1], 16) & ~(1 << CAP_SETUID) == 0, bounding
    assert subject == "made"


def test_model_error_exits_1(agent, fake: FakeOpenAI) -> None:
    fake.reset(*[status(500)] * 5)
    run = agent("Say hello.")
    assert run.returncode == 1, run.stderr
    end = run.end()
    assert end["exit_code"] == 1 and end["stop_reason"] == "error"


def test_hard_cap_exits_124(agent, fake: FakeOpenAI) -> None:
    fake.reset(hang())
    run = agent("Say hello.", AGENT_MAX_RUNTIME_SECONDS="2")
    assert run.returncode == 124, run.stderr
    assert run.end()["reason"].startswith("hard cap of 2s")
