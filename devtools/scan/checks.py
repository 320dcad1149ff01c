"""One Checkov run (its JSON read back as `CheckovRun`) and parliament's unjustified findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolchain.paths import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "security" / "checkov.yaml"
CHECKS_DIR = PROJECT_ROOT / "security" / "checks"


@dataclass
class CheckovRun:
    """One Checkov invocation: its summary and failed checks, read from its JSON report."""

    view: str
    summaries: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed_count(self) -> int:
        return sum(s.get("passed", 0) for s in self.summaries)

    @property
    def failed_count(self) -> int:
        return sum(s.get("failed", 0) for s in self.summaries)

    @property
    def parsing_errors(self) -> int:
        return sum(s.get("parsing_errors", 0) for s in self.summaries)

    def as_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "passed": self.passed_count,
            "failed": self.failed_count,
            "parsing_errors": self.parsing_errors,
            "seconds": round(self.seconds, 1),
            "failures": [
                {
                    "check": f["check_id"],
                    "resource": f["resource"],
                    "file": f.get("file_path", ""),
                    "details": f.get("details") or [],
                }
                for f in self.failed
            ],
        }


def checkov_binary() -> str:
    """The venv's checkov next to this interpreter, else the one on PATH."""
    local = Path(sys.executable).parent / "checkov"
    return str(local) if local.exists() else (shutil.which("checkov") or "checkov")


def run_checkov(
    targets: Sequence[Path],
    *,
    framework: str,
    output_dir: Path,
    view: str,
    extra: Sequence[str] = (),
) -> CheckovRun:
    """Checkov with the project config on directories (terraform_json) or plan files.

    JSON and SARIF land in `output_dir`; the CLI text goes to `output_dir/checkov.txt`.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    args = [checkov_binary(), "--config-file", str(CONFIG), "--framework", framework]
    args += ["--external-checks-dir", str(CHECKS_DIR)]
    for target in targets:
        args += ["-d" if target.is_dir() else "-f", str(target)]
    args += ["-o", "cli", "-o", "json", "-o", "sarif", "--output-file-path", str(output_dir)]
    args += list(extra)
    started = time.monotonic()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    result = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    (output_dir / "checkov.txt").write_text(result.stdout + result.stderr)
    report_path = output_dir / "results_json.json"
    if result.returncode not in (0, 1) or not report_path.exists():
        raise RuntimeError(
            f"checkov failed ({result.returncode}) on {view}:\n{result.stderr[-3000:]}"
        )
    run = CheckovRun(view=view, seconds=time.monotonic() - started)
    reports = json.loads(report_path.read_text())
    for report in reports if isinstance(reports, list) else [reports]:
        run.summaries.append(report.get("summary", {}))
        run.failed += report.get("results", {}).get("failed_checks", [])
    return run


def parliament_findings(synth_dir: Path) -> list[dict[str, str]]:
    """parliament findings not justified in security/parliament_allow.py."""
    from security.iam_lint import failures, lint, load_stacks

    return [
        {"document": f.address, "issue": f.issue, "detail": f.detail}
        for f in failures(lint(load_stacks(synth_dir)))
    ]
