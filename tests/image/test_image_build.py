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
import signal
import stat
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from proxyrun import KEY, Proxy, kill, watch
from s3stub import S3Stub

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
        user: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``buildah run`` as the image's user, in its working directory, on the host network.

        Capabilities are dropped as ECS drops them. Under ``--isolation chroot`` buildah keeps
        ``CAP_SETUID`` in the bounding set (it switches to the image's user itself); ECS keeps
        nothing.
        """
        return subprocess.run(
            self.argv(*cmd, env=env, volumes=volumes, user=user),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def argv(
        self,
        *cmd: str,
        env: dict[str, str] | None = None,
        volumes: tuple[str, ...] = (),
        user: str | None = None,
    ) -> list[str]:
        """The ``buildah run`` command line (``user`` as ECS's container ``user`` sets it)."""
        args = ["run", "--isolation", "chroot", "--network", "host"]
        if user:
            args += ["--user", user]
        for capability in AGENT_CAPABILITY_DROP:  # as the task definition runs it
            args += ["--cap-drop", capability]
        for key, value in (env or {}).items():
            args += ["--env", f"{key}={value}"]
        for volume in volumes:
            args += ["--volume", volume]
        return ["buildah", "--storage-driver", "vfs", *args, self.name, "--", *cmd]

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

    As in the host entrypoint tests: the entrypoint writes models.json (the proxy's URL and
    placeholder key); retries and the SDK timeout are short so failures surface in seconds.
    """
    agent_dir = tmp_path / "pi-agent"
    agent_dir.mkdir()
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


def image_proxy(box: Container, fake: FakeOpenAI, secrets: Path, cap: str = "25") -> Proxy:
    """/usr/local/bin/model-proxy in the image as uid 1001, as the task's model-proxy runs.

    The key reaches its environment as ECS injects a secret, never on a command line: here
    from a file only uid 1001 can read (``buildah run --env`` would put it in buildah's argv,
    which every process of this machine can read). ``timeout`` ends it should the test not.
    """
    key_file = secrets / "key"
    key_file.write_text(KEY)
    os.chown(key_file, 1001, 1001)
    key_file.chmod(0o400)
    env = {
        "MODEL_PROXY_PROVIDER": "openai",
        "MODEL_PROXY_MAX_COST_USD": cap,
        "MODEL_PROXY_PORT": "0",
        "MODEL_PROXY_UPSTREAM": fake.base_url,
        "MODEL_PROXY_ALLOW_LOCAL_UPSTREAM": "1",
        "RUN_ID": f"run-image-proxy-{uuid.uuid4().hex[:8]}",
    }
    start = (
        'export OPENAI_API_KEY="$(cat /run/test-secret/key)"; exec timeout -s TERM 120 model-proxy'
    )
    argv = box.argv(
        "sh", "-c", start, env=env, user="1001:1001", volumes=(f"{secrets}:/run/test-secret:ro",)
    )
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    proxy = watch(proc).wait_started(timeout=60)
    proxy.run_id = env["RUN_ID"]
    return proxy


@pytest.fixture
def proxy(box: Container, fake: FakeOpenAI, tmp_path: Path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    p = image_proxy(box, fake, secrets)
    yield p
    if p.proc.poll() is None:  # buildah passes no signal on: end the proxy itself
        os.kill(_proxy_process(p)[0], signal.SIGKILL)
    kill(p)


@pytest.fixture
def agent(box: Container, pi_config: str, proxy: Proxy):
    """``agent(prompt, **env)`` runs /usr/local/bin/entrypoint in the image, as ECS would."""

    def _run(prompt: str, timeout: float = 60, **env: str) -> AgentRun:
        run_env = {
            "JOB_PROMPT": prompt,
            "AGENT_PROVIDER": "openai",
            "AGENT_MODEL": MODEL,
            "AGENT_MODEL_PROXY_URL": proxy.url,
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
    assert fake.auth_headers[0] == f"Bearer {KEY}"


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


# --- the other two containers: model-proxy (uid 1001) and repo-init (uid 1000) -------------


def _proxy_process(proxy: Proxy) -> tuple[int, int]:
    """(pid, uid) on this machine of the node process serving as model-proxy (buildah's
    chroot isolation shares the process table; buildah does not pass signals on, so the
    test sends SIGTERM to this process, as ECS's stop does to the container's)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            status_text = (entry / "status").read_text()
        except OSError:
            continue
        mine = f"RUN_ID={proxy.run_id}\0".encode() in environ
        if mine and cmdline.split(b"\0")[0].endswith(b"node"):
            uid = re.search(r"^Uid:\s+(\d+)", status_text, re.MULTILINE).group(1)
            return int(entry.name), int(uid)
    raise AssertionError("no model-proxy process")


def test_agent_cannot_read_the_proxys_key(agent, fake: FakeOpenAI, box: Container, proxy):
    """The proxy runs as uid 1001: the agent's tool (uid 1000) hunting through every
    /proc/*/environ and cmdline finds no key, yet its model calls carry it upstream."""
    name = f"hunt-{uuid.uuid4().hex[:6]}.txt"
    hunt = "(env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline) 2>/dev/null"
    hunt += f" | tr '\\0' '\\n' > {name}"
    fake.reset(tool("bash", {"command": hunt}), text("Nothing found."))
    run = agent("Look around.")
    assert run.returncode == 0, run.stderr
    found = (box.root / "workspace" / name).read_text()
    assert "PATH=" in found  # the hunt did read environments (its own at least)
    assert KEY not in found and KEY not in run.stdout + run.stderr
    assert fake.auth_headers == [f"Bearer {KEY}"] * 2
    pid, uid = _proxy_process(proxy)
    assert uid == 1001
    os.kill(pid, signal.SIGTERM)
    assert proxy.finish() in (0, 1)  # the proxy exits 0; buildah may report its own status
    events = proxy.events
    assert events[-1]["type"] == "proxy_end" and events[-1]["usage"]["calls"] == 2
    assert KEY not in "\n".join(proxy.lines)


def test_repo_init_then_agent_in_the_image(box: Container, proxy, fake: FakeOpenAI, tmp_path):
    """repo-init (uid 1000) clones into the workspace volume and writes the image's own
    /run/cloudagent/handoff; the agent then finds the checkout and reports repo_ready."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(origin)]
    subprocess.run([*git, "init", "-q", "--initial-branch=main"], check=True)
    (origin / "README").write_text("hello\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    # git serves a repository only to its owner (safe.directory), as the local runner's
    # ownership step arranges for its bare repositories
    subprocess.run(["chown", "-R", "1000:1000", str(origin)], check=True)
    ws = tmp_path / "ws"
    ws.mkdir()
    os.chown(ws, 1000, 1000)
    env = {"AGENT_REPO_URL": "file:///srv/origin", "AGENT_ALLOW_LOCAL_REPOS": "1", "RUN_ID": "r-1"}
    volumes = (f"{origin}:/srv/origin:ro", f"{ws}:/workspace")
    init = box.run("/usr/local/bin/repo-init", env=env, volumes=volumes)
    assert init.returncode == 0, init.stderr
    ends = [json.loads(line) for line in init.stdout.splitlines()]
    assert ends[-1]["type"] == "repo_init_end" and ends[-1]["ok"] is True, init.stderr
    handoff = json.loads((box.root / "run/cloudagent/handoff/clone.json").read_text())
    assert handoff["base_commit"] == head.strip()
    assert (ws / "README").read_text() == "hello\n"

    fake.reset(text("Read it."))
    run = box.run(
        "/usr/local/bin/entrypoint",
        env={
            "JOB_PROMPT": "Read the README.",
            "AGENT_PROVIDER": "openai",
            "AGENT_MODEL": MODEL,
            "AGENT_MODEL_PROXY_URL": proxy.url,
            "PI_CODING_AGENT_DIR": "/tmp/pi-agent-repo",
            **env,
        },
        volumes=volumes,
    )
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    ready = [e for e in events if e["type"] == "repo_ready"]
    assert ready and ready[0]["base_commit"] == head.strip()


def test_continued_run_resumes_its_session_in_the_image(
    box: Container, proxy, fake: FakeOpenAI, tmp_path
):
    """Run 1 saves pi's session from the image (its file under the agent user's HOME, PUT to
    a presigned URL); run 2's repo-init fetches the bundle, commits run 1's patch and hands
    the session over through the image's handoff directory; run 2's pi resumes it."""
    s3 = S3Stub()
    try:
        origin = tmp_path / "origin"
        origin.mkdir()
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(origin)]
        subprocess.run([*git, "init", "-q", "--initial-branch=main"], check=True)
        (origin / "README").write_text("hello\n")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "first"], check=True)
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        root = head.stdout.strip()
        subprocess.run(["chown", "-R", "1000:1000", str(origin)], check=True)
        first, second = (f"run-img-{uuid.uuid4().hex[:8]}" for _ in range(2))
        common = {
            "AGENT_REPO_URL": "file:///srv/origin",
            "AGENT_REPO_REF": root,
            "AGENT_ALLOW_LOCAL_REPOS": "1",
            "JOB_PROMPT": "",
            "AGENT_PROVIDER": "openai",
            "AGENT_MODEL": MODEL,
            "AGENT_MODEL_PROXY_URL": proxy.url,
            "PI_CODING_AGENT_DIR": "/tmp/pi-agent-continuation",
        }

        def task(run_id: str, prompt: str, **env: str) -> list[dict[str, Any]]:
            ws = tmp_path / run_id
            ws.mkdir()
            os.chown(ws, 1000, 1000)
            volumes = (f"{origin}:/srv/origin:ro", f"{ws}:/workspace")
            run_env = {**common, "RUN_ID": run_id, **env}
            init = box.run("/usr/local/bin/repo-init", env=run_env, volumes=volumes)
            assert init.returncode == 0, init.stderr
            url = s3.url(f"sessions/{run_id}.jsonl")
            run_env |= {"JOB_PROMPT": prompt, "AGENT_SESSION_UPLOAD_URL": url}
            run = box.run("/usr/local/bin/entrypoint", env=run_env, volumes=volumes)
            assert run.returncode == 0, run.stderr
            return [json.loads(line) for line in run.stdout.splitlines()]

        fake.reset(tool("bash", {"command": "echo more >> README"}), text("Appended."))
        events1 = task(first, "Append to the README.")
        assert [e["messages"] for e in events1 if e["type"] == "session_saved"] == [4]
        patch = "".join(e["data"] for e in events1 if e["type"] == "patch")
        session = s3.objects[f"sessions/{first}.jsonl"].decode()
        bundle = {
            "format": 1,
            "run_id": second,
            "parent_run_id": first,
            "repo": "https://github.com/o/r.git",
            "root_commit": root,
            "patches": [{"run_id": first, "patch": patch}],
            "session": session,
            "session_note": None,
        }
        s3.put_json(f"continuations/{second}.json", bundle)
        fake.reset(text("It says hello and more."))
        continue_url = s3.url(f"continuations/{second}.json")
        events2 = task(second, "What does it say now?", AGENT_CONTINUE_URL=continue_url)
        restored = [e for e in events2 if e["type"] == "session_restored"]
        assert restored and restored[0]["messages"] == 4
        assert "Append to the README." in json.dumps(fake.requests[0])
        assert (tmp_path / second / "README").read_text() == "hello\nmore\n"
        assert [e["messages"] for e in events2 if e["type"] == "session_saved"] == [6]
    finally:
        s3.stop()
