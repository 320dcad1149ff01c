"""The scan of the real synth is clean: Checkov (with the project config) and parliament.

Also: parliament does find what it is there for (an action that does not exist, a resource of
the wrong type), and every skipped built-in check in the config carries a reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from devtools.scan import quick_scan
from security import iam_lint
from security.parliament_allow import ALLOWED_FINDINGS
from tests.support.planting import add_statement, agent_exec_policy
from toolchain.paths import PROJECT_ROOT

# Findings known in the stacks and waiting for a fix, each with its reason; the tests fail on any
# finding not listed here AND on a listed one that is gone. Both are empty: the stacks are clean.
OPEN_CHECKOV_FINDINGS: set[tuple[str, str]] = set()
OPEN_PARLIAMENT_FINDINGS: set[tuple[str, str]] = set()


def test_scan_of_the_real_synth_has_no_failed_check(synth_local: Path) -> None:
    lines: list[str] = []
    status = quick_scan(synth_local, out=lines.append)
    summary = json.loads((synth_local / "scan" / "synth" / "summary.json").read_text())["scan"]
    assert lines[0].startswith("Checked: Checkov ")
    failed = {(f["check"], f["resource"]) for f in summary["checkov"]["failures"]}
    assert failed - OPEN_CHECKOV_FINDINGS == set(), "new failed checks"
    assert OPEN_CHECKOV_FINDINGS - failed == set(), "fixed: remove from OPEN_CHECKOV_FINDINGS"
    assert summary["checkov"]["parsing_errors"] == 0
    lint = {(f["document"], f["issue"]) for f in summary["parliament_failures"]}
    assert lint == OPEN_PARLIAMENT_FINDINGS
    assert status == (1 if OPEN_CHECKOV_FINDINGS or OPEN_PARLIAMENT_FINDINGS else 0)
    sarif = json.loads((synth_local / "scan" / "synth" / "results_sarif.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert summary["checkov"]["passed"] > 100


def test_every_skipped_builtin_check_has_a_written_reason() -> None:
    text = (PROJECT_ROOT / "security" / "checkov.yaml").read_text()
    block = text.split("skip-check:", 1)[1]
    entries = [line for line in block.splitlines() if re.match(r"\s+- ", line)]
    assert entries
    for line in entries:
        check, _, reason = line.strip()[2:].partition("#")
        assert re.fullmatch(r"CKV2?_AWS_\d+", check.strip()), line
        assert len(reason.strip()) > 40, f"{check.strip()} has no real reason"


def test_real_policies_pass_parliament(stacks: dict[str, dict]) -> None:
    findings = iam_lint.lint(stacks)
    failures = {(f.address, f.issue) for f in iam_lint.failures(findings)}
    assert failures == OPEN_PARLIAMENT_FINDINGS
    assert len(list(iam_lint.documents(stacks))) >= 10  # roles, trusts and key policies
    for finding in findings:
        if finding.allowed_by is not None:
            assert finding.allowed_by.reason


def test_parliament_allow_entries_each_have_a_reason() -> None:
    for entry in ALLOWED_FINDINGS:
        assert len(entry.reason) > 40, entry


def _agent_with(stacks: dict[str, dict], statement: dict) -> dict[str, dict]:
    doc = json.loads(json.dumps(stacks["agent"]))
    for name, body in doc["resource"]["aws_iam_role_policy"].items():
        if agent_exec_policy(name, body):
            add_statement(statement)(body)
    return {"agent": doc}


def test_parliament_finds_a_planted_unknown_action(stacks: dict[str, dict]) -> None:
    bad = {"Sid": "Typo", "Effect": "Allow", "Action": "secretsmanager:GetSecretValues",
           "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"}  # fmt: skip
    failures = iam_lint.failures(iam_lint.lint(_agent_with(stacks, bad)))
    assert any(f.issue == "UNKNOWN_ACTION" and "GetSecretValues" in f.detail for f in failures), (
        failures
    )


def test_parliament_finds_a_resource_of_the_wrong_type(stacks: dict[str, dict]) -> None:
    """kms:Decrypt pointed at a secret (a reference, resolved to a secret ARN placeholder)."""
    secret = "${aws_secretsmanager_secret.x.arn}"
    bad = {"Sid": "Mismatch", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": secret}
    failures = iam_lint.failures(iam_lint.lint(_agent_with(stacks, bad)))
    assert any(f.issue == "RESOURCE_MISMATCH" for f in failures), failures


def test_parliament_flags_a_reference_it_cannot_type(stacks: dict[str, dict]) -> None:
    bad = {"Sid": "Odd", "Effect": "Allow", "Action": "sqs:SendMessage",
           "Resource": "${aws_mystery_thing.x.arn}"}  # fmt: skip
    failures = iam_lint.failures(iam_lint.lint(_agent_with(stacks, bad)))
    assert any(f.issue == "UNRESOLVED_REFERENCE" for f in failures), failures
