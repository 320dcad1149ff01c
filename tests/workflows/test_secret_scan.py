"""run-agent.yml publishes nothing the agent wrote before the secret scanner has read it.

The order of the run job's steps (scan before the summary, the pull-request files and the
artifact the pushed branch is made from), the scanner pinned with hashes, and the scan script
run for real (detect-secrets from the project's environment) on a planted key in the final
message and in a patch - and on a clean run, which it must let through.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.workflows import load_workflow
from toolchain.paths import PROJECT_ROOT

SCAN_DIR = PROJECT_ROOT / ".github" / "secret-scan"
SCAN = SCAN_DIR / "scan.py"


def _steps(workflow_texts: dict[str, str]) -> list[dict]:
    return load_workflow(workflow_texts["run-agent.yml"])["jobs"]["run"]["steps"]


def publishing_before_scan(steps: list[dict]) -> list[str]:
    """Steps that publish (summary, pull-request files, artifact) at or before the scan."""
    at = next((i for i, s in enumerate(steps) if "secret-scan/scan.py" in str(s.get("run"))), None)
    found = []
    for index, step in enumerate(steps):
        text = str(step.get("with", {}).get("script", "")) + str(step.get("uses", ""))
        publishes = any(
            mark in text
            for mark in ("core.summary", "cloudagent-pr", "cloudagent-continue", "upload-artifact")
        )
        if publishes and (at is None or index <= at):
            found.append(step.get("name") or step.get("id") or step.get("uses"))
    return found


def test_the_scan_runs_before_anything_is_published(workflow_texts):
    steps = _steps(workflow_texts)
    assert publishing_before_scan(steps) == []
    by_id = {s.get("id"): s for s in steps}
    assert by_id["scan"]["run"] == "python3 .github/secret-scan/scan.py cloudagent-out"
    assert by_id["scan"]["if"] == "always() && steps.run.outputs.run_id != ''"
    # Published only from what a finished scan left; the artifact only when the patch passed.
    assert by_id["publish"]["if"] == "always() && steps.scan.outputs.scanned == 'true'"
    upload = next(s for s in steps if "upload-artifact" in str(s.get("uses")))
    assert upload["if"] == "always() && steps.publish.outputs.has_patch == 'true'"
    run = by_id["run"]["with"]["script"]
    assert "core.summary" not in run and "cloudagent-pr" not in run and "has_patch" not in run
    assert "cloudagent-continue" not in run and "continued" not in run
    publish = by_id["publish"]["with"]["script"]
    assert 'read("final_message.md")' in publish and 'read("withheld.md")' in publish
    job = load_workflow(workflow_texts["run-agent.yml"])["jobs"]["run"]
    assert job["outputs"]["has_patch"] == "${{ steps.publish.outputs.has_patch }}"


def test_the_order_check_catches_a_summary_written_before_the_scan(workflow_texts):
    steps = _steps(workflow_texts)
    at = next(i for i, s in enumerate(steps) if s.get("id") == "scan")
    moved = [*steps[:at], steps[at + 1], steps[at], *steps[at + 2 :]]
    assert publishing_before_scan(moved) == [steps[at + 1]["name"]]


def test_the_scanner_is_installed_pinned_with_hashes(workflow_texts):
    runs = [str(s.get("run", "")) for s in _steps(workflow_texts)]
    install = [r for r in runs if "pip install" in r]
    assert install == [
        "python3 -m pip install --disable-pip-version-check --require-hashes "
        "-r .github/secret-scan/requirements.txt"
    ]
    [checkout] = [s for s in _steps(workflow_texts) if "actions/checkout" in s.get("uses", "")]
    assert checkout["with"] == {
        # the scanner, and the detectors it shares with the API's scan of the final message
        "sparse-checkout": ".github/secret-scan\nchalice_api/chalicelib/runs/secret_detectors.py\n",
        "sparse-checkout-cone-mode": False,
        "persist-credentials": False,
    }
    text = (SCAN_DIR / "requirements.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==\S+ \\$", text, re.MULTILINE)
    assert "detect-secrets" in pins
    blocks = re.split(r"^(?=[A-Za-z])", text, flags=re.MULTILINE)
    assert all("--hash=sha256:" in b for b in blocks if re.match(r"[A-Za-z]", b))
    assert "detect-secrets==" in (SCAN_DIR / "requirements.in").read_text()


def _key(prefix: str, length: int = 48) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _scan(directory: Path) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    output = directory.parent / "github_output"
    output.write_text("")
    env = {**os.environ, "GITHUB_OUTPUT": str(output)}
    result = subprocess.run(
        [sys.executable, str(SCAN), str(directory)], capture_output=True, text=True, env=env
    )
    pairs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return result, pairs


def _patch(path: str, added: str) -> str:
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1 +1,2 @@\n hello\n+{added}\n"
    )


@pytest.mark.parametrize(
    ("prefix", "length"), [("sk-ant-api03-", 48), ("sk-proj-", 48), ("AIza", 35), ("ghp_", 36)]
)
def test_the_scan_withholds_a_planted_key(tmp_path, prefix, length):
    key = _key(prefix, length)
    out = tmp_path / "cloudagent-out"
    out.mkdir()
    (out / "final_message.md").write_text(f"Done. By the way, the key is {key}\n")
    (out / "change.patch").write_text(_patch("notes.txt", f"key: {key}"))
    result, outputs = _scan(out)
    assert result.returncode == 1, result.stderr
    assert outputs == {"scanned": "true", "final_message": "withheld", "patch": "withheld"}
    final = (out / "final_message.md").read_text()
    assert final.startswith("[withheld: the secret scanner matched ") and key not in final
    assert not (out / "change.patch").exists()  # no branch, no pull request
    reasons = (out / "withheld.md").read_text().splitlines()
    assert len(reasons) == 2 and "in the patch" in reasons[1]
    assert key not in result.stdout + result.stderr  # its type and place only
    assert "::error::[withheld: the secret scanner matched" in result.stdout


def test_the_scan_lets_a_clean_run_through(tmp_path):
    out = tmp_path / "cloudagent-out"
    out.mkdir()
    message = (
        "Fixed the failing test: `parse_date` now accepts ISO weeks (see tests/test_dates.py).\n"
    )
    (out / "final_message.md").write_text(message)
    patch = _patch("src/dates.py", "    return datetime.strptime(text, '%G-W%V-%u')")
    (out / "change.patch").write_text(patch)
    result, outputs = _scan(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"scanned": "true", "final_message": "clean", "patch": "clean"}
    assert (out / "final_message.md").read_text() == message
    assert (out / "change.patch").read_text() == patch
    assert (out / "withheld.md").read_text() == ""


def test_a_scan_that_cannot_run_publishes_nothing(tmp_path):
    """A crash (here: a directory that is a file) never writes `scanned`."""
    blocker = tmp_path / "cloudagent-out"
    blocker.write_text("not a directory")
    result, outputs = _scan(blocker)
    assert result.returncode != 0 and "scanned" not in outputs
