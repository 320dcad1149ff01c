"""The web ACL lets through every request body the control API accepts.

AWS's Common rule set blocks bodies over 8 KB (`SizeRestrictions_BODY`); the API takes up to
64 KiB (a prompt of 8192 characters, escaped in JSON, is more than 8 KB) and refuses a larger
body itself (413). The ACL counts that one rule instead of enforcing it; a WAF rule of its own
for 64 KiB would cost a sixth rule ($1 a month) over the idle budget (docs/ARCHITECTURE.md §6.3).
"""

from __future__ import annotations

import importlib
import json

import pytest

from tests.support.synthesized import one
from tests.support.waf_body import verdict
from toolchain.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def acl(stacks: dict[str, dict]) -> dict:
    return one(stacks["api"], "aws_wafv2_web_acl")


@pytest.fixture
def validation(monkeypatch: pytest.MonkeyPatch):
    """The API's own request validation (chalice_api never imports stacks/, nor the reverse)."""
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "chalice_api"))
    return importlib.import_module("chalicelib.http.validation")


def test_the_largest_body_the_api_accepts_passes_and_one_byte_more_is_refused(
    acl, validation
) -> None:
    largest = validation.MAX_BODY_BYTES  # the API's limit, read where the API keeps it
    assert verdict(acl, largest) == "ALLOW"
    body = json.dumps({"prompt": "x"}).encode()
    assert validation.parse_json_object(body + b" " * (largest - len(body))) == {"prompt": "x"}
    with pytest.raises(validation.PayloadTooLarge, match=f"larger than {largest} bytes"):
        validation.parse_json_object(body + b" " * (largest + 1 - len(body)))


def test_runs_the_api_accepts_past_8_kb_pass(acl, validation) -> None:
    """Bodies the API takes that the Common set alone would block: the longest prompt ECS's
    overrides hold (tests/chalice_api/test_routes.py) with a run's 20 longest egress names, and
    the same prompt with each character escaped, as a JSON writer may."""
    prompt = "x" * (validation.MAX_PROMPT_CHARS - 550)
    names = [f"{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 45}.n{n:02d}.example.org" for n in range(20)]
    run = {"prompt": prompt, "provider": "openai", "model": "gpt-5", "egress_domains": names}
    escaped = json.dumps(run).replace(prompt, "\\u0078" * len(prompt))
    for body in (json.dumps(run).encode(), escaped.encode()):
        assert 8 * 1024 < len(body) <= validation.MAX_BODY_BYTES
        request = validation.validate_create_run(validation.parse_json_object(body))
        assert request.prompt == prompt and len(request.egress_domains) == 20
        assert verdict(acl, len(body)) == "ALLOW"


def test_without_the_override_the_common_rule_set_would_block_it(acl) -> None:
    """The evaluator is not blind: the ACL as it was (no override) blocks 9 KB."""
    before = json.loads(json.dumps(acl))
    for rule in before["rule"]:
        rule["statement"].get("managed_rule_group_statement", {}).pop("rule_action_override", None)
    assert verdict(before, 9 * 1024) == "BLOCK"
    assert verdict(acl, 9 * 1024) == "ALLOW"


def test_only_the_body_size_rule_of_the_common_set_is_counted(acl) -> None:
    [common] = [
        r["statement"]["managed_rule_group_statement"]
        for r in acl["rule"]
        if r["statement"].get("managed_rule_group_statement", {}).get("name")
        == "AWSManagedRulesCommonRuleSet"
    ]
    assert common["rule_action_override"] == [
        {"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}
    ]
    others = [
        r["statement"]["managed_rule_group_statement"]
        for r in acl["rule"]
        if "managed_rule_group_statement" in r["statement"]
    ]
    assert sum("rule_action_override" in s for s in others) == 1
