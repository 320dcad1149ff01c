"""The runner reads a three-container task as ECS would, and lays out what each container gets.

Resolution (secrets per container, overrides per container name, dependsOn order, user,
entry point, streams) against moto's ECS and Secrets Manager; then the task's directory in
image mode - which file is readable by whom, and which directories each `buildah run` mounts -
so the proxy's key is in no file or mount the agent can reach.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from devtools.local.runner import container as container_module
from devtools.local.runner.container import Launcher, image_argv, with_port
from devtools.local.runner.task_files import IMAGE_REPO_MOUNT, IMAGE_RUNTIME_DIR
from devtools.local.runner.task_spec import CannotStart, resolve, start_order
from tests.devtools.local.conftest import HANDOFF, KEY_VAR, Account

ROOT = os.geteuid() == 0


def _resolved(account: Account, **changes):
    arn = account.register(**changes)
    task = account.run_task(
        arn,
        {
            "agent": {"JOB_PROMPT": "hi", "RUN_ID": "run_test", "AGENT_MODEL": "gpt-4o-mini"},
            "model-proxy": {"RUN_ID": "run_test", "MODEL_PROXY_MAX_COST_USD": "0.5"},
            "repo-init": {"AGENT_REPO_URL": "https://github.com/org/app.git"},
        },
    )
    definition = account.client("ecs").describe_task_definition(taskDefinition=arn)
    return resolve(task, definition["taskDefinition"], account.client("secretsmanager"))


def test_every_container_is_resolved_with_its_own_secrets_and_overrides(account: Account):
    spec = _resolved(account)
    assert [c.name for c in spec.containers] == ["repo-init", "model-proxy", "agent"]
    init, proxy, agent = spec.containers
    assert proxy.environment[KEY_VAR] == account.key_value and proxy.secret_names == [KEY_VAR]
    assert proxy.environment["MODEL_PROXY_MAX_COST_USD"] == "0.5"  # the override wins
    assert KEY_VAR not in agent.environment and agent.secret_names == []
    assert KEY_VAR not in init.environment
    assert agent.environment["JOB_PROMPT"] == "hi" and "JOB_PROMPT" not in proxy.environment
    assert init.environment["AGENT_REPO_URL"] == "https://github.com/org/app.git"
    assert (init.uid, proxy.uid, proxy.gid, agent.uid) == (1000, 1001, 1001, 1000)
    assert (init.essential, proxy.essential, agent.essential) == (False, True, True)
    assert proxy.entry_point == ["/usr/local/bin/model-proxy"] and agent.entry_point == []
    assert agent.depends_on == [("model-proxy", "START"), ("repo-init", "SUCCESS")]
    assert [m.read_only for m in agent.mounts] == [False, True] and proxy.mounts == []
    assert {c.name: c.log_stream for c in spec.containers} == {
        n: f"agent/{n}/{spec.task_id}" for n in ("repo-init", "model-proxy", "agent")
    }
    assert (spec.main.name, spec.container) == ("agent", "agent")
    assert (proxy.stop_timeout, init.stop_timeout) == (5, 30)


def test_an_unreadable_secret_of_one_container_stops_the_task(account: Account):
    missing = account.key_arn.replace("openai", "nothere")
    with pytest.raises(CannotStart, match="retrieving secret OPENAI_API_KEY of container model"):
        _resolved(account, model_proxy={"secrets": [{"name": KEY_VAR, "valueFrom": missing}]})


def test_start_order_follows_depends_on_and_refuses_what_ecs_would():
    defs = [
        {"name": "agent", "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
        {"name": "init"},
        {"name": "proxy"},
    ]
    assert [d["name"] for d in start_order(defs)] == ["init", "agent", "proxy"]
    defs[1]["dependsOn"] = [{"containerName": "agent", "condition": "START"}]
    with pytest.raises(CannotStart, match="cycle"):
        start_order(defs)
    with pytest.raises(CannotStart, match="unknown container ghost"):
        start_order(
            [{"name": "a", "dependsOn": [{"containerName": "ghost", "condition": "START"}]}]
        )
    with pytest.raises(CannotStart, match="HEALTHY is not played"):
        start_order(
            [
                {"name": "a", "dependsOn": [{"containerName": "a2", "condition": "HEALTHY"}]},
                {"name": "a2"},
            ]
        )


@pytest.fixture
def image_launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Launcher:
    """An image-mode launcher without its working container (no buildah call here)."""
    monkeypatch.setattr(Launcher, "_working_container", lambda self: None)
    return Launcher(tmp_path / "tasks", tmp_path / "repos", "http://127.0.0.1:4321/v1", "image")


def _mounts(argv: list[str]) -> dict[str, str]:
    """container path -> host path[:ro] of a `buildah run` argv."""
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "-v"]
    return {p.split(":")[1]: p.split(":")[0] + (":ro" if p.endswith(":ro") else "") for p in pairs}


@pytest.mark.skipif(not ROOT, reason="the files belong to each container's uid: needs root")
def test_image_mode_gives_each_container_only_its_own_files(account, image_launcher, tmp_path):
    repos = tmp_path / "repos" / "org" / "app.git"
    repos.mkdir(parents=True)
    (repos / "HEAD").write_text("ref: refs/heads/main\n")
    spec = _resolved(account)
    files, bare = image_launcher.prepare(spec)
    argvs = {}
    for c in spec.containers:
        files.write_env_file(c, image_launcher.environment(spec, c, files, bare))
        argvs[c.name] = image_argv(c, files, bare, "wc")
    proxy_dir = files.runtime("model-proxy")
    for path, mode, uid in [
        (proxy_dir, 0o700, 1001),
        (proxy_dir / "env.sh", 0o600, 1001),
        (files.runtime("agent") / "env.sh", 0o600, 1000),
        (files.runtime("repo-init") / "env.sh", 0o600, 1000),
    ]:
        info = path.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid) == (mode, uid), path
    assert account.key_value in (proxy_dir / "env.sh").read_text()
    everything_else = [
        p for p in files.root.rglob("*") if p.is_file() and proxy_dir not in p.parents
    ]
    assert not [p for p in everything_else if account.key_value in p.read_text(errors="ignore")]

    mounts = {name: _mounts(argv) for name, argv in argvs.items()}
    assert mounts["model-proxy"] == {IMAGE_RUNTIME_DIR: str(proxy_dir)}  # no workspace
    assert mounts["agent"] == {
        "/workspace": str(files.volume("workspace")),
        HANDOFF: f"{files.volume('handoff')}:ro",
        IMAGE_RUNTIME_DIR: str(files.runtime("agent")),
    }
    assert mounts["repo-init"][HANDOFF] == str(files.volume("handoff"))
    assert mounts["repo-init"][IMAGE_REPO_MOUNT] == f"{repos.resolve()}:ro"
    users = {name: argv[argv.index("--user") + 1] for name, argv in argvs.items()}
    assert users == {"repo-init": "1000:1000", "model-proxy": "1001:1001", "agent": "1000:1000"}
    assert not [a for argv in argvs.values() for a in argv if account.key_value in a]


def test_each_container_gets_this_machines_part_of_its_environment(account, image_launcher):
    spec = _resolved(account)
    files, bare = image_launcher.prepare(spec)
    proxy = image_launcher.environment(spec, spec.get("model-proxy"), files, bare)
    agent = image_launcher.environment(spec, spec.get("agent"), files, bare)
    port = files.proxy_port
    assert port and port != 8787
    assert proxy["MODEL_PROXY_PORT"] == str(port)
    assert agent["AGENT_MODEL_PROXY_URL"] == f"http://127.0.0.1:{port}"
    assert proxy["MODEL_PROXY_UPSTREAM"] == "http://127.0.0.1:4321/v1"
    assert proxy["MODEL_PROXY_ALLOW_LOCAL_UPSTREAM"] == "1"
    assert "MODEL_PROXY_UPSTREAM" not in agent and KEY_VAR not in agent
    assert agent["PI_CODING_AGENT_DIR"] == f"{IMAGE_RUNTIME_DIR}/pi-agent"
    assert "PI_CODING_AGENT_DIR" not in proxy
    models = json.loads((files.runtime("agent") / "pi-agent" / "models.json").read_text())
    assert models == {
        "providers": {
            "openai": {
                "api": "openai-responses",
                "models": [{"id": "gpt-4o-mini", "api": "openai-responses"}],
            }
        }
    }
    assert not (files.runtime("model-proxy") / "pi-agent").exists()


def test_host_mode_maps_the_task_volumes_and_the_image_programs(account, tmp_path, monkeypatch):
    from devtools.pi_runtime import Runtime

    runtime = Runtime(node_bin=Path("/usr/bin"), pi_bin=Path("/usr/lib/pi/.bin"))
    launcher = Launcher(tmp_path / "tasks", tmp_path / "repos", None, "host", runtime=runtime)
    spec = _resolved(account)
    files, bare = launcher.prepare(spec)
    agent = launcher.environment(spec, spec.get("agent"), files, bare)
    assert agent["AGENT_HANDOFF_DIR"] == str(files.volume("handoff"))
    assert agent["HOME"] == f"{files.runtime('agent')}/home"
    assert agent["NODE_PATH"] == "/usr/lib/pi"
    monkeypatch.setattr(container_module, "IMAGE_SOURCE", tmp_path)
    (tmp_path / "model-proxy").write_text("")
    assert launcher._host_entry(spec.get("model-proxy")) == [str(tmp_path / "model-proxy")]
    assert launcher._host_entry(spec.get("agent")) == [str(container_module.ENTRYPOINT)]
    assert with_port("http://127.0.0.1:8787", 9) == "http://127.0.0.1:9"
