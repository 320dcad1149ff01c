"""The entrypoint's contract (docs/ARCHITECTURE.md §4), end to end: real pi, fake model.

Each test scripts the fake OpenAI server, runs ``image/entrypoint`` the way ECS would (env
vars only), and asserts on the exit code, the JSON stream and what reached the model. Limits
are shortened through the contract's own variables so no test waits for real defaults.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from proxyrun import KEY

from devtools.fake_model import hang, status, text, tool

GRACE = 1.0  # AGENT_STOP_GRACE_SECONDS in agent_env


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_soon(pid: int, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def user_prompts(body: dict) -> list[str]:
    """The user texts of one Responses request, as the model would read them."""
    texts = []
    for item in body.get("input", []):
        if item.get("role") == "user":
            for part in item.get("content", []):
                if part.get("type") == "input_text":
                    texts.append(part["text"])
    return texts


# --- finishing runs -------------------------------------------------------------------------


def test_bash_tool_run_finishes(entrypoint, fake, tmp_path):
    """A tool call is executed, logged in full, and the run exits 0 after the final answer."""
    fake.reset(
        tool("bash", {"command": "printf hello > made.txt; env > env.txt"}),
        text("I wrote made.txt for you."),
    )
    run = entrypoint(ANTHROPIC_API_KEY="sk-ant-not-for-pi").wait()
    assert run.returncode == 0, run.stderr
    ws = tmp_path / "workspace"
    assert (ws / "made.txt").read_text() == "hello"
    types = run.types()
    assert "tool_execution_start" in types and "tool_execution_end" in types
    assert "message_update" not in types  # compact stream by default
    assert types.count("message_end") >= 4  # user, tool call, tool result, final answer
    end = run.end()
    assert end["exit_code"] == 0 and end["stop_reason"] == "stop"
    # The tool result went back to the model, and the answer came through message_end.
    assert any(i.get("type") == "function_call_output" for i in fake.requests[1]["input"])
    finals = [e for e in run.events if e["type"] == "message_end"]
    assert finals[-1]["message"]["content"][0]["text"] == "I wrote made.txt for you."
    # pi and its tools hold no key (one set by hand is dropped); the proxy added the real one.
    tool_env = (ws / "env.txt").read_text()
    assert "API_KEY" not in tool_env and KEY not in tool_env
    assert fake.auth_headers == [f"Bearer {KEY}"] * 2
    models = json.loads((Path(run.env["PI_CODING_AGENT_DIR"]) / "models.json").read_text())
    assert models["providers"]["openai"] == {
        "baseUrl": run.env["AGENT_MODEL_PROXY_URL"],
        "apiKey": "cloudagent-model-proxy",
    }


def test_log_deltas_keeps_message_update(entrypoint, fake):
    """AGENT_LOG_DELTAS=1 keeps the partial-message events the compact stream drops."""
    fake.reset(text("one two three four five"))
    full = entrypoint(AGENT_LOG_DELTAS="1").wait()
    assert full.returncode == 0, full.stderr
    assert full.types().count("message_update") >= 5
    fake.reset(text("one two three four five"))
    compact = entrypoint().wait()
    assert "message_update" not in compact.types()
    # Everything else is the same stream.
    assert [t for t in full.types() if t != "message_update"] == compact.types()


def test_background_process_does_not_outlive_a_finished_run(entrypoint, fake, tmp_path):
    """A tool that leaves a detached process behind: it is killed when the run ends."""
    cmd = "setsid -f sh -c 'echo $$ > bg.pid; exec sleep 300' >/dev/null 2>&1; sleep 0.2"
    fake.reset(tool("bash", {"command": cmd}), text("started it"))
    run = entrypoint().wait()
    assert run.returncode == 0, run.stderr
    pid = int((tmp_path / "workspace" / "bg.pid").read_text())
    assert gone_soon(pid), f"background pid {pid} survived the run"


# --- failing runs ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 401])
def test_model_error_is_agent_failure(entrypoint, fake, code):
    """pi exits 0 after a failed model call; the stream's stopReason makes it exit 1."""
    fake.reset(*[status(code)] * 5)
    run = entrypoint().wait()
    assert run.returncode == 1, run.stderr
    assert run.duration < 10
    end = run.end()
    assert end["exit_code"] == 1
    assert end["pi_exit_code"] == 0 and end["stop_reason"] == "error"
    assert end["reason"].startswith("agent error")
    assert "\n" not in end["reason"]
    assert end["reason"] in run.stderr


def test_pi_dying_is_agent_failure(entrypoint, fake):
    """pi killed from outside (as the OOM killer would) is an agent failure: exit 1."""
    fake.reset(hang())
    run = entrypoint()
    run.wait_for(lambda: len(fake.requests) == 1)
    (pi_pid,) = children_of(run.proc.pid)
    os.kill(pi_pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == 1, run.stderr
    end = run.end()
    assert end["pi_signal"] == "SIGKILL"
    assert end["reason"] == "pi exited with signal SIGKILL"


# --- configuration errors -------------------------------------------------------------------


def assert_config_error(run, needle: str, fake) -> None:
    assert run.returncode == 2, run.stderr
    end = run.end()
    assert end["exit_code"] == 2 and needle in end["reason"]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and end["reason"] in lines[0]
    assert fake.requests == []  # pi was never started
    assert run.duration < 5


def test_unknown_provider(entrypoint, fake):
    run = entrypoint(AGENT_PROVIDER="my-proxy").wait()
    assert_config_error(run, "unknown AGENT_PROVIDER", fake)


def test_proxy_url_is_required_headless(entrypoint, fake):
    """Without the model proxy pi would have no way to the model: exit 2, naming the variable."""
    run = entrypoint(AGENT_MODEL_PROXY_URL=None).wait()
    assert_config_error(run, "AGENT_MODEL_PROXY_URL is not set", fake)


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:8787", "http://10.0.0.5:8787", "http://u:p@127.0.0.1:1", "nope"]
)
def test_proxy_url_must_be_the_tasks_own(entrypoint, fake, url):
    run = entrypoint(AGENT_MODEL_PROXY_URL=url).wait()
    assert_config_error(run, "AGENT_MODEL_PROXY_URL", fake)


def test_proxy_not_reachable(entrypoint, fake, unused_port):
    """A proxy that never answers its health route: exit 2 after the wait, pi never started."""
    run = entrypoint(
        AGENT_MODEL_PROXY_URL=f"http://127.0.0.1:{unused_port}", AGENT_MODEL_PROXY_WAIT_SECONDS="1"
    ).wait()
    assert run.returncode == 2, run.stderr
    assert "model proxy at" in run.end()["reason"] and "not reachable" in run.end()["reason"]
    assert fake.requests == []
    assert children_of(run.proc.pid) == []


def test_models_json_is_merged_not_replaced(entrypoint, fake, agent_env):
    """What is already in models.json (the local runner's fake models, other providers)
    stays; only the provider's baseUrl and apiKey are set."""
    models = Path(agent_env["PI_CODING_AGENT_DIR"]) / "models.json"
    models.write_text(
        json.dumps(
            {
                "providers": {
                    "openai": {"baseUrl": "https://elsewhere.invalid", "headers": {"x-a": "1"}},
                    "xai": {"baseUrl": "https://x.invalid"},
                }
            }
        )
    )
    run = entrypoint().wait()
    assert run.returncode == 0, run.stderr
    doc = json.loads(models.read_text())
    assert doc["providers"]["openai"] == {
        "baseUrl": agent_env["AGENT_MODEL_PROXY_URL"],
        "apiKey": "cloudagent-model-proxy",
        "headers": {"x-a": "1"},
    }
    assert doc["providers"]["xai"] == {"baseUrl": "https://x.invalid"}
    # no secret in it, and an ECS Exec shell (root without capabilities) must read it
    assert models.stat().st_mode & 0o777 == 0o644


def test_interactive_points_pi_at_the_proxy(entrypoint, fake, agent_env):
    """An operator's session uses the proxy too: models.json is written before the idle line."""
    run = entrypoint(JOB_PROMPT=None)
    run.wait_for(lambda: "runtime_idle" in "".join(run.stdout_lines))
    doc = json.loads((Path(agent_env["PI_CODING_AGENT_DIR"]) / "models.json").read_text())
    assert doc["providers"]["openai"]["baseUrl"] == agent_env["AGENT_MODEL_PROXY_URL"]
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"AGENT_PROVIDER": None}, "AGENT_PROVIDER is not set"),
        ({"AGENT_MODEL": ""}, "AGENT_MODEL is not set"),
        ({"JOB_PROMPT": " \n\t "}, "JOB_PROMPT is blank"),
    ],
)
def test_incomplete_headless_config(entrypoint, fake, overrides, needle):
    """A headless run needs a provider, a model and a prompt with some text in it."""
    run = entrypoint(**overrides).wait()
    assert_config_error(run, needle, fake)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AGENT_MAX_RUNTIME_SECONDS", "7201"),
        ("AGENT_MAX_RUNTIME_SECONDS", "0"),
        ("AGENT_MAX_RUNTIME_SECONDS", "-5"),
        ("AGENT_MAX_RUNTIME_SECONDS", "1.5"),
        ("AGENT_MAX_RUNTIME_SECONDS", "two hours"),
        ("AGENT_STOP_GRACE_SECONDS", "soon"),
        ("AGENT_STOP_GRACE_SECONDS", "121"),
    ],
)
@pytest.mark.parametrize("prompt", ["Say hello.", None])
def test_bad_limits(entrypoint, fake, var, value, prompt):
    """Limits are checked in both modes; an interactive task with a bad cap also refuses."""
    run = entrypoint(**{var: value, "JOB_PROMPT": prompt}).wait()
    assert_config_error(run, var, fake)


def test_limit_defaults_and_maximum(entrypoint, fake):
    """Unset limits mean 7200 s and 30 s; exactly 7200 is accepted."""
    run = entrypoint(AGENT_MAX_RUNTIME_SECONDS=None, AGENT_STOP_GRACE_SECONDS=None).wait()
    start = run.events[0]
    assert (start["max_runtime_seconds"], start["stop_grace_seconds"]) == (7200, 30)
    run = entrypoint(AGENT_MAX_RUNTIME_SECONDS="7200").wait()
    assert run.returncode == 0, run.stderr


# --- prompts --------------------------------------------------------------------------------

PROMPTS = [
    "@notes.txt summarise this file",
    "--help me with --mode text",
    "-p",
    "He said \"don't\" and 'left'; `echo $HOME` $(touch pwned)",
    "line one\nline two\n\n  indented line three\twith a tab",
    '@\n--\n"',
    "Grüße, 你好 — ünïcödé ✓",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_prompt_reaches_model_verbatim(entrypoint, fake, tmp_path, prompt):
    """Prompts go over stdin, so `@`, `--`, quotes and newlines are not interpreted.

    (pi trims surrounding whitespace from stdin; the contract's prompts are sent as given.)
    """
    (tmp_path / "workspace" / "notes.txt").write_text("SECRET FILE CONTENT")
    fake.reset(text("ok"))
    run = entrypoint(JOB_PROMPT=prompt).wait()
    assert run.returncode == 0, run.stderr
    assert user_prompts(fake.requests[0]) == [prompt]
    assert not (tmp_path / "workspace" / "pwned").exists()


# --- stopping -------------------------------------------------------------------------------


def test_sigterm_mid_run(entrypoint, fake):
    """ECS StopTask while the model call is in flight: 143, well within the grace."""
    fake.reset(hang())
    run = entrypoint()
    run.wait_for(lambda: len(fake.requests) == 1)
    t0 = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 143, run.stderr
    assert time.monotonic() - t0 < GRACE + 1.5
    assert run.end()["reason"] == "stopped by SIGTERM"


def test_sigint_is_forwarded_as_sigterm(entrypoint, fake):
    """SIGINT (a local Ctrl-C) stops pi's group the same way; exit 130 by convention."""
    fake.reset(hang())
    run = entrypoint()
    run.wait_for(lambda: len(fake.requests) == 1)
    run.proc.send_signal(signal.SIGINT)
    run.wait()
    assert run.returncode == 130, run.stderr
    assert run.end()["reason"] == "stopped by SIGINT"


def tool_pid_file_run(entrypoint, fake, tmp_path, command: str, name: str):
    """Start a run whose bash tool writes ``name`` and then blocks; wait for the file."""
    fake.reset(tool("bash", {"command": command}), text("never reached"))
    run = entrypoint()
    pid_file = tmp_path / "workspace" / name
    run.wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
    return run, int(pid_file.read_text())


def test_child_ignoring_sigterm_is_killed(entrypoint, fake, tmp_path):
    """A tool child that ignores SIGTERM is killed with the run; nothing is left behind."""
    cmd = "trap '' TERM; echo $$ > tool.pid; sleep 300; echo woke"
    run, tool_pid = tool_pid_file_run(entrypoint, fake, tmp_path, cmd, "tool.pid")
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 143, run.stderr
    assert run.duration < 30
    assert gone_soon(tool_pid)


def test_unresponsive_pi_is_killed_after_grace_with_its_tools(entrypoint, fake, tmp_path):
    """pi ignoring SIGTERM (stopped with SIGSTOP): SIGKILL after the grace, tools included.

    pi starts bash tools in their own session, so once pi is SIGKILLed they would be
    orphans: the entrypoint must find and kill them itself.
    """
    cmd = "trap '' TERM; echo $$ > tool.pid; sleep 300; echo woke"
    run, tool_pid = tool_pid_file_run(entrypoint, fake, tmp_path, cmd, "tool.pid")
    (pi_pid,) = children_of(run.proc.pid)
    os.kill(pi_pid, signal.SIGSTOP)
    t0 = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    elapsed = time.monotonic() - t0
    assert run.returncode == 143, run.stderr
    assert GRACE <= elapsed < GRACE + 2.5
    assert "killed" in run.end()["reason"]
    assert gone_soon(pi_pid)
    assert gone_soon(tool_pid), "the bash tool outlived the entrypoint"


def test_escaped_child_is_killed_on_sigterm(entrypoint, fake, tmp_path):
    """A tool child that left pi's process tree (setsid, ignores TERM) is killed too."""
    cmd = (
        "setsid -f sh -c 'trap \"\" TERM; echo $$ > esc.pid; exec sleep 300' "
        ">/dev/null 2>&1; sleep 300"
    )
    run, esc_pid = tool_pid_file_run(entrypoint, fake, tmp_path, cmd, "esc.pid")
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 143, run.stderr
    assert gone_soon(esc_pid), "the escaped child outlived the entrypoint"


def test_hard_cap(entrypoint, fake):
    """AGENT_MAX_RUNTIME_SECONDS ends a hung run with 124."""
    fake.reset(hang())
    run = entrypoint(AGENT_MAX_RUNTIME_SECONDS="2").wait()
    assert run.returncode == 124, run.stderr
    assert 2 <= run.duration < 2 + GRACE + 2
    assert run.end()["reason"].startswith("hard cap of 2s")


# --- interactive ----------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", [None, ""])
def test_interactive_idle_then_sigterm(entrypoint, fake, prompt):
    """No prompt: log runtime_idle, start nothing, and stop cleanly (0) on SIGTERM."""
    run = entrypoint(JOB_PROMPT=prompt, AGENT_PROVIDER=None, OPENAI_API_KEY=None)
    run.wait_for(lambda: "runtime_idle" in "".join(run.stdout_lines))
    assert children_of(run.proc.pid) == []
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 0, run.stderr
    assert run.types() == ["runtime_start", "runtime_idle", "runtime_end"]
    assert fake.requests == []


def test_interactive_hard_cap(entrypoint, fake):
    run = entrypoint(JOB_PROMPT=None, AGENT_MAX_RUNTIME_SECONDS="1").wait()
    assert run.returncode == 124, run.stderr
    assert 1 <= run.duration < 3
    assert run.types() == ["runtime_start", "runtime_idle", "runtime_end"]


def test_run_id_on_every_line(entrypoint, fake):
    """Every stdout line is one JSON object carrying RUN_ID (the fixture checks each run)."""
    fake.reset(tool("bash", {"command": "true"}), text("done"))
    run = entrypoint(RUN_ID="run-0123").wait()
    assert run.returncode == 0
    assert {e["run_id"] for e in run.events} == {"run-0123"}
    assert run.events[0]["type"] == "runtime_start"


def test_key_placeholder_matches_the_stacks() -> None:
    """The model proxy and the foundation stack agree on what an unset key looks like."""
    from devtools.pi_runtime import ENTRYPOINT_LIB
    from stacks.shared.constants import PROVIDER_KEY_PLACEHOLDER

    source = (ENTRYPOINT_LIB / "constants.js").read_text()
    assert f'const KEY_PLACEHOLDER = "{PROVIDER_KEY_PLACEHOLDER}";' in source
