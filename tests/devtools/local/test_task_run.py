"""A three-container task carried from start to STOPPED, with shell scripts for the programs.

On the host (any machine): the order dependsOn asks for, one stream per container, the
proxy's own port and uid, the task ending with the agent (the proxy stopped after it and its
last line sent), a failed repo-init stopping the task before the agent exists, and StopTask
reaching the agent before the proxy. In the image (buildah, root): the same task with each
container its own `buildah run` under its own uid - the agent, hunting as uid 1000, finds the
proxy's key in no environment, command line or file it can read.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devtools.image.storage import BUILDAH, IMAGE_TAG, image_id
from devtools.local.runner.container import Launcher
from devtools.local.runner.task_run import TaskRun
from devtools.pi_runtime import Runtime
from tests.devtools.local.conftest import Account
from tests.support.image_skips import IMAGE_SKIP

SH = ["/bin/sh", "-c"]
PROXY = (
    "trap 'echo proxy_end; exit 0' TERM; "
    'echo "proxy_start port=$MODEL_PROXY_PORT uid=$(id -u) key=${OPENAI_API_KEY:+set}"; '
    "while :; do sleep 0.05; done"
)
INIT = (  # the pause lets the proxy's shell set its trap before a failure stops it
    "echo repo_init_start uid=$(id -u); sleep 0.5; "
    'echo \'{"ok": true}\' > "$AGENT_HANDOFF_DIR/clone.json"; exit ${INIT_EXIT:-0}'
)
AGENT = (
    'echo "agent uid=$(id -u) proxy=$AGENT_MODEL_PROXY_URL key=${OPENAI_API_KEY:-none}"; '
    'cat "$AGENT_HANDOFF_DIR/clone.json"; echo "cwd=$(pwd)"; ${AGENT_THEN:-true}'
)
ROOT = os.geteuid() == 0


def _scripts(agent: str = AGENT) -> dict[str, dict[str, Any]]:
    return {
        "repo_init": {"entryPoint": SH, "command": [INIT]},
        "model_proxy": {"entryPoint": SH, "command": [PROXY]},
        "agent": {"entryPoint": SH, "command": [agent]},
    }


class Carried:
    """One TaskRun and what it delivered and logged."""

    def __init__(self, account: Account, launcher: Launcher, task: dict[str, Any], where: Path):
        self.account = account
        self.events: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.run = TaskRun(
            task, account.client, launcher, self.events.append, self.lines.append, where
        )
        self.task_id = task["taskArn"].rsplit("/", 1)[-1]

    def stream(self, container: str) -> list[str]:
        logs = self.account.client("logs")
        name = f"agent/{container}/{self.task_id}"
        if not logs.describe_log_streams(
            logGroupName="/cloudagent/dev/agent", logStreamNamePrefix=name
        )["logStreams"]:
            return []
        got = logs.get_log_events(logGroupName="/cloudagent/dev/agent", logStreamName=name)
        return [e["message"] for e in got["events"]]

    @property
    def stopped(self) -> dict[str, Any]:
        assert self.events[-1]["detail"]["lastStatus"] == "STOPPED"
        return self.events[-1]["detail"]

    def exit_codes(self) -> dict[str, int | None]:
        return {c["name"]: c.get("exitCode") for c in self.stopped["containers"]}


@pytest.fixture
def host_launcher(tmp_path: Path) -> Launcher:
    runtime = Runtime(node_bin=Path("/usr/bin"), pi_bin=Path("/usr/bin"))
    return Launcher(
        tmp_path / "tasks", tmp_path / "repos", "http://127.0.0.1:9/v1", "host", runtime=runtime
    )


def _carry(
    account: Account, launcher: Launcher, tmp_path: Path, agent=AGENT, **overrides
) -> Carried:
    arn = account.register(**_scripts(agent))
    task = account.run_task(arn, {"agent": {"RUN_ID": "run_test"}, **overrides})
    carried = Carried(account, launcher, task, tmp_path)
    return carried


def test_the_task_runs_in_dependency_order_and_ends_with_the_agent(
    account, host_launcher, tmp_path
):
    carried = _carry(account, host_launcher, tmp_path)
    carried.run.run()
    assert len(carried.events) == 2, carried.lines[0]
    running, stopped = carried.events[0]["detail"], carried.stopped
    assert running["lastStatus"] == "RUNNING"
    assert [c["name"] for c in running["containers"]] == ["agent", "repo-init", "model-proxy"]
    assert (stopped["stopCode"], stopped["stoppedReason"]) == (
        "EssentialContainerExited",
        "Essential container in task exited",
    )
    assert carried.exit_codes() == {"agent": 0, "repo-init": 0, "model-proxy": 0}
    proxy, agent = carried.stream("model-proxy"), carried.stream("agent")
    port = int(proxy[0].split("port=")[1].split()[0])
    assert port != 8787 and "key=set" in proxy[0]
    assert proxy[-1] == "proxy_end"  # stopped after the agent, its last line sent
    assert agent[0].endswith(f"proxy=http://127.0.0.1:{port} key=none")
    assert agent[1] == '{"ok": true}'  # repo-init's handoff, written before the agent started
    assert agent[2] == f"cwd={tmp_path / 'tasks' / carried.task_id / 'workspace'}"
    assert carried.stream("repo-init")[0].startswith("repo_init_start")
    if ROOT:  # the proxy runs under its own uid; the agent on the host runs as the runner
        assert "uid=1001" in proxy[0]


def test_a_failed_repo_init_stops_the_task_before_the_agent_exists(
    account, host_launcher, tmp_path
):
    carried = _carry(account, host_launcher, tmp_path, **{"repo-init": {"INIT_EXIT": "3"}})
    carried.run.run()
    assert [e["detail"]["lastStatus"] for e in carried.events] == ["STOPPED"]
    stopped = carried.stopped
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert "dependency graph" in stopped["stoppedReason"]
    assert "[repo-init (STOPPED) - Exit: 3] for target [agent" in stopped["stoppedReason"]
    assert carried.exit_codes() == {"agent": None, "repo-init": 3, "model-proxy": 0}
    assert carried.stream("agent") == []
    assert carried.stream("model-proxy")[-1] == "proxy_end"


def test_stop_task_reaches_the_agent_before_the_proxy(account, host_launcher, tmp_path):
    carried = _carry(account, host_launcher, tmp_path, agent=AGENT + "; exec sleep 60")
    thread = threading.Thread(target=carried.run.run)
    thread.start()
    deadline = time.monotonic() + 20
    while not carried.events and time.monotonic() < deadline:
        time.sleep(0.05)
    carried.run.stop("Task stopped by user")
    thread.join(30)
    assert carried.run.done.is_set()
    assert (carried.stopped["stopCode"], carried.stopped["stoppedReason"]) == (
        "UserInitiated",
        "Task stopped by user",
    )
    assert carried.exit_codes() == {"agent": 143, "repo-init": 0, "model-proxy": 0}
    signals = [line.split(": ", 1)[1] for line in carried.lines if "<- SIGTERM" in line]
    assert [s.split()[0] for s in signals] == ["agent", "model-proxy"]


def test_an_essential_proxy_that_exits_ends_the_task(account, host_launcher, tmp_path):
    arn = account.register(
        **{**_scripts(), "model_proxy": {"entryPoint": SH, "command": ["echo proxy_error; exit 2"]}}
    )
    task = account.run_task(arn, {"repo-init": {"INIT_EXIT": "0"}})
    carried = Carried(account, host_launcher, task, tmp_path)
    carried.run.run()
    assert carried.stopped["stopCode"] == "EssentialContainerExited"
    assert carried.exit_codes()["model-proxy"] == 2
    assert carried.stream("model-proxy") == ["proxy_error"]


# -- in the image ------------------------------------------------------------------------------

HUNT = (
    "echo agent uid=$(id -u); "
    "{ env; cat /proc/[0-9]*/environ; "
    "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done; "
    "grep -rsIh -D skip --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -e sk-plante[d] / ; "
    "} 2>/dev/null | tr '\\0' '\\n' | grep -o 'sk-plante[d]-[0-9a-f]*' | sort -u "
    "| sed 's/^/found /'; echo hunt done"
)


@pytest.fixture
def image_launcher(tmp_path: Path) -> Any:
    why = None
    if not shutil.which("buildah"):
        why = "buildah is not installed"
    elif not ROOT:
        why = "buildah runs as root here"
    elif image_id(IMAGE_TAG) is None:
        why = f"no image {IMAGE_TAG} (make image)"
    if why:
        pytest.skip(f"{IMAGE_SKIP}: {why}")
    name = f"cloudagent-runner-test-{os.getpid()}"
    launcher = Launcher(
        tmp_path / "tasks", tmp_path / "repos", None, "image", working_container=name
    )
    yield launcher
    import subprocess

    subprocess.run([*BUILDAH, "rm", name], capture_output=True)


def test_in_the_image_the_agent_cannot_find_the_proxys_key(account, image_launcher, tmp_path):
    """Any image will do: only /bin/sh, id, grep and tr of its filesystem run here."""
    carried = _carry(account, image_launcher, tmp_path, agent=HUNT)
    carried.run.run()
    assert carried.exit_codes() == {"agent": 0, "repo-init": 0, "model-proxy": 0}, carried.lines
    proxy, agent = carried.stream("model-proxy"), carried.stream("agent")
    assert "uid=1001" in proxy[0] and "key=set" in proxy[0] and proxy[-1] == "proxy_end"
    assert agent == ["agent uid=1000", "hunt done"]  # nothing found
    assert carried.stream("repo-init")[0] == "repo_init_start uid=1000"


def test_the_hunt_finds_a_key_given_to_the_agent(account, image_launcher, tmp_path):
    """The planted violation: today's single-holder shape, the key in the agent's secrets."""
    secrets = [{"name": "OPENAI_API_KEY", "valueFrom": account.key_arn}]
    arn = account.register(
        **{**_scripts(HUNT), "agent": {**_scripts(HUNT)["agent"], "secrets": secrets}}
    )
    carried = Carried(account, image_launcher, account.run_task(arn, {}), tmp_path)
    carried.run.run()
    assert f"found {account.key_value}" in carried.stream("agent")
