"""Fixtures for the security tests: the project checks by id, and Checkov's CLI run once.

The Checkov CLI costs seconds per run, so every planted file is written to one directory tree
and scanned in a single run; tests then read the per-file results.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.security.planting import PLANTS, planted

ROOT = Path(__file__).resolve().parents[2]
CHECKS_DIR = ROOT / "security" / "checks"
CONFIG = ROOT / "security" / "checkov.yaml"


def load_checks() -> dict[str, Any]:
    """Every project check instance, by id (imports security/checks/ckv_ca_*.py)."""
    found = {}
    for path in sorted(CHECKS_DIR.glob("ckv_ca_*.py")):
        module = importlib.import_module(f"security.checks.{path.stem}")
        found[module.check.id] = module.check
    return found


@pytest.fixture(scope="session")
def checks() -> dict[str, Any]:
    return load_checks()


def run_checkov(*args: str) -> list[dict]:
    """The Checkov CLI with the project config; its JSON report(s) as a list."""
    command = [
        str(Path(sys.executable).parent / "checkov"),
        "--config-file",
        str(CONFIG),
        "--external-checks-dir",
        str(CHECKS_DIR),
        "-o",
        "json",
        *args,
    ]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def results(reports: list[dict], kind: str) -> list[dict]:
    return [r for report in reports for r in report.get("results", {}).get(kind, [])]


@pytest.fixture(scope="session")
def planted_tree(stacks: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`planted/<case>/cdk.tf.json` per violation and `clean/<stack>/cdk.tf.json` unmodified."""
    root = tmp_path_factory.mktemp("planted-scan")
    for plant in PLANTS:
        doc, _ = planted(stacks[plant.stack], plant)
        target = root / "planted" / plant.case / "cdk.tf.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(doc, indent=1))
    for name, doc in stacks.items():
        target = root / "clean" / name / "cdk.tf.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(doc, indent=1))
    return root


@pytest.fixture(scope="session")
def planted_scan(planted_tree: Path) -> list[dict]:
    """One Checkov CLI run (terraform_json, project checks only) over every planted file."""
    return run_checkov(
        "-d", str(planted_tree), "--framework", "terraform_json", "--check", "CKV_CA_*"
    )
