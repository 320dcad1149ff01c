"""The local fake model answers the newest turn of the conversation it is sent.

A continued run resumes its parent's session, so pi sends the parent's turns before the new
instruction; the model must run the new instruction's command, not replay the first one.
"""

from __future__ import annotations

from typing import Any

from devtools.local.runner.model import answer


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


def _call(command: str) -> dict[str, Any]:
    return {"type": "function_call", "name": "bash", "arguments": f'{{"command": "{command}"}}'}


def _output(text: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": "c1", "output": text}


def test_a_first_turn_runs_its_command_then_answers_with_its_output() -> None:
    step = answer({"input": [_user("run: echo one > notes.txt")]})
    assert (step.kind, step.args) == ("tool", {"command": "echo one > notes.txt"})
    done = answer({"input": [_user("run: echo hi"), _call("echo hi"), _output("hi\n")]})
    assert done.kind == "text"
    assert "first line of output: hi" in done.text
    assert "user turns in this conversation: 1" in done.text


def test_a_resumed_conversation_runs_the_newest_instruction() -> None:
    earlier = [_user("run: echo one > notes.txt"), _call("echo one > notes.txt"), _output("")]
    step = answer({"input": [*earlier, {"role": "assistant"}, _user("run: echo two >> notes.txt")]})
    # The parent's tool output does not count as an answer to the new instruction.
    assert (step.kind, step.args) == ("tool", {"command": "echo two >> notes.txt"})
    done = answer({"input": [*earlier, _user("run: cat notes.txt"), _call("cat"), _output("one")]})
    assert "user turns in this conversation: 2" in done.text
