"""`make synth`'s scan: Checkov on the synthesized JSON and parliament, no Terraform."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from devtools.scan.checks import parliament_findings, run_checkov
from toolchain.paths import PROJECT_ROOT


def quick_scan(
    synth_dir: Path = PROJECT_ROOT / "cdktf.out", out: Callable[[str], None] = print
) -> int:
    """Checkov (terraform_json) on a synth plus parliament; print a short summary; 0 if clean.

    No Terraform and no moto: a few seconds, so `make synth` can end with it. The full summary
    is written as JSON next to the SARIF (`scan/synth/summary.json`).
    """
    started = time.monotonic()
    scan_dir = synth_dir / "scan" / "synth"
    run = run_checkov(
        [synth_dir / "stacks"], framework="terraform_json", output_dir=scan_dir, view="synth"
    )
    lint = parliament_findings(synth_dir)
    summary = {
        "checkov": run.as_dict(),
        "parliament_failures": lint,
        "sarif": str((scan_dir / "results_sarif.sarif").relative_to(PROJECT_ROOT))
        if scan_dir.is_relative_to(PROJECT_ROOT)
        else str(scan_dir / "results_sarif.sarif"),
        "seconds": round(time.monotonic() - started, 1),
    }
    (scan_dir / "summary.json").write_text(json.dumps({"scan": summary}, indent=2))
    out(
        f"Checked: Checkov {run.passed_count} passed, {run.failed_count} failed, "
        f"{run.parsing_errors} parsing errors; parliament {len(lint)} unjustified finding(s) "
        f"({summary['seconds']}s). SARIF: {summary['sarif']}"
    )
    for failure in run.failed:
        out(
            f"  FAILED {failure['check_id']} {failure['resource']} ({failure.get('file_path', '')})"
        )
    for finding in lint:
        out(f"  PARLIAMENT {finding['document']}: {finding['issue']} {finding['detail']}")
    return 1 if (run.failed_count or run.parsing_errors or lint) else 0
