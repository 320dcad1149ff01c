"""Fixtures for the security tests: the project checks by id, and Checkov's CLI run once.

The Checkov CLI costs seconds per run, so every planted file is written to one directory tree
and scanned in a single run; tests then read the per-file results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.checkov import load_checks, run_checkov
from tests.support.planting import PLANTS, planted


@pytest.fixture(scope="session")
def checks() -> dict[str, Any]:
    return load_checks()


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
