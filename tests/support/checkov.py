"""The project's Checkov checks by id, and the Checkov CLI run with the project's config."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from toolchain.paths import PROJECT_ROOT

CHECKS_DIR = PROJECT_ROOT / "security" / "checks"
CONFIG = PROJECT_ROOT / "security" / "checkov.yaml"


def load_checks() -> dict[str, Any]:
    """Every project check instance, by id (imports security/checks/ckv_ca_*.py)."""
    found = {}
    for path in sorted(CHECKS_DIR.glob("ckv_ca_*.py")):
        module = importlib.import_module(f"security.checks.{path.stem}")
        found[module.check.id] = module.check
    return found


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
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def results(reports: list[dict], kind: str) -> list[dict]:
    return [r for report in reports for r in report.get("results", {}).get(kind, [])]


# One check per file, its id in the file name (security/checks/ckv_ca_<n>_<guarantee>.py).
ALL_IDS = sorted(
    (f"CKV_CA_{path.name.split('_')[2]}" for path in CHECKS_DIR.glob("ckv_ca_*.py")),
    key=lambda check_id: int(check_id.rsplit("_", 1)[1]),
)
