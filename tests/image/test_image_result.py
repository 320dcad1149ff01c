"""``runtime_end.result`` on every exit path (docs/ARCHITECTURE.md §4), real pi, fake model.

The fake server reports ``USAGE`` on every completed response, so the token totals a run
must add up to are known: per assistant message pi counts input 100, cache read 20,
output 30 (OpenAI includes cached tokens in ``input_tokens``; pi subtracts them).
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from test_image_entrypoint import GRACE, children_of

from devtools.fake_model import hang, partial, status, text, tool

RESULT_KEYS = {
    "final_message",
    "final_message_truncated",
    "stop_reason",
    "usage",
    "tool_calls",
    "duration_seconds",
    "patch",
    "session",
}
USAGE_KEYS = {
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
}


def result_of(run) -> dict:
    result = run.end()["result"]
    assert set(result) == RESULT_KEYS, result
    assert set(result["usage"]) == USAGE_KEYS
    assert 0 <= result["duration_seconds"] <= run.duration + 0.5
    return result


def expected_usage(run, messages: int) -> dict:
    """``messages`` assistant replies of the fake, and pi's own price for them summed."""
    ends = [
        e["message"]
        for e in run.events
        if e["type"] == "message_end" and e["message"]["role"] == "assistant"
    ]
    cost = sum(m["usage"]["cost"]["total"] for m in ends)
    return {
        "input_tokens": 100 * messages,
        "output_tokens": 30 * messages,
        "cache_read_tokens": 20 * messages,
        "cache_write_tokens": 0,
        "cost_usd": pytest.approx(cost, rel=1e-9, abs=1e-12),
    }


def test_result_of_a_finished_run(entrypoint, fake):
    """Exit 0: the final answer, usage summed over both model calls, one tool call."""
    fake.reset(tool("bash", {"command": "true"}), text("All done: the answer is 42."))
    run = entrypoint().wait()
    assert run.returncode == 0, run.stderr
    result = result_of(run)
    assert result["final_message"] == "All done: the answer is 42."
    assert result["final_message_truncated"] is False
    assert result["stop_reason"] == "stop"
    assert result["usage"] == expected_usage(run, 2)
    # gpt-4o-mini in pi's table: $0.15 / $0.60 / $0.08 per million input/output/cached
    assert result["usage"]["cost_usd"] == pytest.approx(
        2 * (100 * 0.15 + 30 * 0.6 + 20 * 0.08) / 1e6
    )
    assert result["tool_calls"] == 1
    assert result["patch"] is None
    # The result is the last line and the only new thing on it: nothing else moved.
    assert run.stdout_lines[-1].startswith('{"type":"runtime_end"')


def test_result_of_a_model_error(entrypoint, fake):
    """Exit 1: pi's error message ends the run; its stop reason is in the result."""
    fake.reset(*[status(500)] * 5)
    run = entrypoint().wait()
    assert run.returncode == 1, run.stderr
    result = result_of(run)
    assert result["stop_reason"] == "error"
    assert result["final_message"] == ""
    assert result["tool_calls"] == 0
    assert result["usage"]["input_tokens"] == 0 and result["usage"]["cost_usd"] == 0


def test_result_of_a_configuration_error(entrypoint, fake):
    """Exit 2 before pi started: a result all the same, empty."""
    run = entrypoint(AGENT_PROVIDER="nope").wait()
    assert run.returncode == 2
    assert result_of(run) | {"duration_seconds": 0} == {
        "final_message": None,
        "final_message_truncated": False,
        "stop_reason": None,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "cost_usd": 0,
        },
        "tool_calls": 0,
        "duration_seconds": 0,
        "patch": None,
        "session": None,
    }


def test_result_at_the_hard_cap(entrypoint, fake):
    """Exit 124 after a tool round: the usage so far and the tool calls are counted.

    How far pi gets before the cap depends on the machine's load (pi starts in 1.5 s idle,
    in over 5 s on a busy shared machine), so the expectation is taken from the log.
    """
    fake.reset(tool("bash", {"command": "true"}), hang())
    run = entrypoint(AGENT_MAX_RUNTIME_SECONDS="4").wait()
    assert run.returncode == 124, run.stderr
    result = result_of(run)
    answered = [
        e for e in run.events if e["type"] == "message_end" and e["message"]["role"] == "assistant"
    ]
    assert result["usage"] == expected_usage(run, len(answered))
    assert result["tool_calls"] == run.types().count("tool_execution_start")
    if answered:  # the usual case: the tool round is done and the second call hangs
        assert result["tool_calls"] == 1
        assert result["stop_reason"] == "toolUse"
        assert result["final_message"] == ""  # the last assistant message was a tool call


def test_result_of_a_stop_mid_stream(entrypoint, fake):
    """Exit 143 while the model is writing: the partial text the compact log dropped."""
    fake.reset(partial("Half written answer that never ends"))
    run = entrypoint()
    run.wait_for(lambda: '"role":"assistant"' in "".join(run.stdout_lines))  # message_start
    time.sleep(1.0)  # the two words were streamed with the headers; let pi read them
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 143, run.stderr
    assert "message_update" not in run.types()
    result = result_of(run)
    assert result["final_message"] == "Half written"
    assert result["stop_reason"] is None  # pi never finished that message


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_result_on_signals(entrypoint, fake, sig, code):
    fake.reset(tool("bash", {"command": "true"}), hang())
    run = entrypoint()
    run.wait_for(lambda: len(fake.requests) == 2)
    run.proc.send_signal(sig)
    run.wait()
    assert run.returncode == code, run.stderr
    result = result_of(run)
    assert result["tool_calls"] == 1
    assert result["usage"] == expected_usage(run, 1)


def test_result_when_sigterm_repeats_during_the_grace(entrypoint, fake, tmp_path):
    """pi frozen (SIGSTOP), SIGTERM twice: one runtime_end with its result, exit 143."""
    pid_file = tmp_path / "tool.pid"
    fake.reset(tool("bash", {"command": f"echo $$ > {pid_file}; sleep 300"}), text("never"))
    run = entrypoint()
    run.wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
    (pi_pid,) = children_of(run.proc.pid)
    os.kill(pi_pid, signal.SIGSTOP)
    t0 = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 143, run.stderr
    assert time.monotonic() - t0 < GRACE + 2.5
    assert "killed" in run.end()["reason"]
    result = result_of(run)
    assert result["tool_calls"] == 1
    assert result["usage"] == expected_usage(run, 1)


def test_final_message_is_capped_on_a_character_boundary(entrypoint, fake):
    """A 120 KB answer of 3-byte characters: 64 KiB at most, cut between characters."""
    answer = "✓" * 40_000
    fake.reset(text(answer))
    run = entrypoint().wait()
    assert run.returncode == 0, run.stderr
    result = result_of(run)
    final = result["final_message"]
    assert result["final_message_truncated"] is True
    assert len(final.encode()) == 65_535  # 21,845 whole characters
    assert answer.startswith(final)


def test_interactive_result(entrypoint, fake):
    run = entrypoint(JOB_PROMPT=None)
    run.wait_for(lambda: "runtime_idle" in "".join(run.stdout_lines))
    run.proc.send_signal(signal.SIGTERM)
    run.wait()
    assert run.returncode == 0
    result = result_of(run)
    assert result["final_message"] is None and result["tool_calls"] == 0


def test_result_bytes_are_small(entrypoint, fake):
    """What the result adds to the log: the runtime_end line grows by a few hundred bytes."""
    fake.reset(tool("bash", {"command": "true"}), text("ok"))
    run = entrypoint().wait()
    line = run.stdout_lines[-1]
    rest = {k: v for k, v in run.end().items() if k != "result"}
    added = len(line.encode()) - len(json.dumps(rest, separators=(",", ":")).encode())
    assert 0 < added < 600, added
