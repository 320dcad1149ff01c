"""The final message is scanned with detect-secrets before it is stored; a hit withholds it.

Keys are planted the way a prompt-injected agent would print them: in the runtime_end line on
moto, then read back through GET /v1/runs/{id} (and the list), where the value must appear
nowhere. The scanner itself is the real one, with the project's detectors added; ordinary
output of a coding agent (commit SHAs, UUIDs, code reading a password from the environment)
must come through untouched.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.runs import secret_scan

VALID = {"prompt": "Print your environment", "provider": "openai", "model": "gpt-5"}
# Realistic shapes (random characters, the providers' prefixes), not real credentials.
AWS_KEY = "AKIA4HQ2ZX7W3RTN5LMB"
AWS_SECRET = "aws_secret_access_key = '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'"
GITHUB_PAT = (
    "github_pat_11ABQ7Z2Y0k9Lm3Np5Qr7St_9Vx1Zb3Dd5Ff7Hh9Jj1Ll3Nn5Pp7Rr9Tt1Vv3Xx5Zz7Bb9Dd1Ff3Hh5"
)
ANTHROPIC = (
    "sk-ant-api03-Xq9vB2mK7pL4sR8tW1yZ3aC6dF0gH5jN2kM8pQ4rT7uV9wX1yZ3bD5fG7hJ9kL2mN4pQ6rS8t"
    "U0vW2xY4zA6bC8dE0fG2h-AbCdEfAA"
)
PLANTED = {
    "AWS Access Key": f"Found it: AWS_ACCESS_KEY_ID={AWS_KEY}",
    "GitHub Fine-Grained Token": f"The clone token is {GITHUB_PAT}.",
    "Anthropic API Key": f"Here you go: {ANTHROPIC}",
    "OpenAI API Key": "key sk-proj-Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9",
    "OpenRouter API Key": "sk-or-v1-" + "3f9a2c7e1b8d4f6a" * 4,
    "xAI API Key": "xai-" + "Zk3Qm8Wp2Lr7Tn5Vx9Bc4Hd6Jf1Gs0Ya" * 3,
    "Google API Key": "GEMINI_API_KEY is AIzaSyD3kQm8Wp2Lr7Tn5Vx9Bc4Hd6Jf1Gs0Ya8",
    "GitHub Token": "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    # A provider's newer prefix: only the generic sk- detector knows it (the workflow's scan
    # found it, the API's did not, until both took secret_detectors.py's classes alike).
    "Model provider API key (sk-)": "key sk-cloudagenthunt-0f9e8d7c6b5a49382716a5b4c3d2e1f0",
}
CLEAN = [
    "Fixed: the test waited on a real clock. All 42 tests pass now.",
    "Committed 0123456789abcdef0123456789abcdef01234567 on top of "
    "base commit: 9f2c1e7d4b8a6f3e2d1c0b9a8f7e6d5c4b3a2f1e",
    "run id 3f8e2a1c-5b7d-4e9f-a2c6-1d3b5f7e9a0c finished; see "
    "https://github.com/acme/agents/blob/main/src/app.py#L12",
    "```python\npassword = os.environ['DB_PASSWORD']\napi_key: str = settings.api_key\n```",
    "sha256: 4f8a7e2b1c9d3e6f5a4b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f",
    "Résumé: the café's naïve façade — 日本語のテキスト ✓",
    "The model proxy's placeholder key is cloudagent-model-proxy; the real one never left it.",
]


@pytest.mark.parametrize(("kind", "message"), PLANTED.items(), ids=list(PLANTED))
def test_a_planted_key_is_found(kind: str, message: str) -> None:
    text, withheld = secret_scan.withheld(f"Sure.\n{message}\nAnything else?")
    assert withheld is True
    assert text is not None and text.startswith("[withheld: the secret scanner matched ")
    assert kind in text and message not in text


@pytest.mark.parametrize("message", CLEAN)
def test_ordinary_output_is_kept(message: str) -> None:
    assert secret_scan.withheld(message) == (message, False)


def test_a_key_deep_in_a_long_message_or_beside_other_text_is_found() -> None:
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
    text, withheld = secret_scan.withheld("x = 1\n" * 8000 + pem)  # 48 KB before it
    assert withheld and "PEM Private Key" in str(text)
    text, withheld = secret_scan.withheld(f"é{ANTHROPIC}é")  # no locale can hide it
    assert withheld and "Anthropic API Key" in str(text)
    text, withheld = secret_scan.withheld(AWS_SECRET)
    assert withheld and "Base64 High Entropy String" in str(text)


def test_a_scanner_that_cannot_run_withholds(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str) -> list[str]:
        raise ImportError("no detect_secrets")

    monkeypatch.setattr(secret_scan, "secret_types", broken)
    assert secret_scan.withheld("anything") == (
        "[withheld: the secret scanner could not run (ImportError)]",
        True,
    )
    assert secret_scan.withheld(None) == (None, False)


@pytest.mark.parametrize("planted", [AWS_KEY, GITHUB_PAT, ANTHROPIC])
def test_the_stored_result_never_holds_the_key(
    client: Any, headers: dict[str, str], agent_log: Any, stop: Any, planted: str
) -> None:
    resp = client.http.post("/v1/runs", headers=headers, body=json.dumps(VALID).encode())
    run_id = resp.json_body["run_id"]
    arn = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["task_arn"]
    message = f"My environment:\nSECRET={planted}\nDone."
    end = {"type": "runtime_end", "run_id": run_id, "result": {"final_message": message}}
    agent_log(arn, [json.dumps(end)])
    stop(run_id, arn)
    got = client.http.get(f"/v1/runs/{run_id}", headers=headers)
    result = got.json_body["result"]
    assert result["final_message_withheld"] is True
    assert result["final_message"].startswith("[withheld: the secret scanner matched ")
    listed = client.http.get("/v1/runs", headers=headers)
    assert planted not in got.body.decode() and planted not in listed.body.decode()
