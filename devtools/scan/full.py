"""`make scan`: Checkov on both views (synth and plans) and parliament; `summary.json`."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.scan.checks import CheckovRun, parliament_findings, run_checkov
from devtools.scan.plans import SCAN_STATE_BUCKET, plan_stacks
from toolchain.paths import PROJECT_ROOT


def full_scan(
    synth_dir: Path = PROJECT_ROOT / "cdktf.out",
    *,
    synth: bool = True,
    out: Callable[[str], None] = print,
) -> int:
    """Synth (local and S3-backend variants), plan on moto, Checkov both views, parliament."""
    from devtools.synth import synthesize

    started = time.monotonic()
    scan_dir = synth_dir / "scan"
    if scan_dir.exists():
        shutil.rmtree(scan_dir)
    if synth:
        out(f"synth -> {synth_dir}")
        synthesize(synth_dir)
    with tempfile.TemporaryDirectory(prefix="cloudagent-scan-") as work:
        # The plans need the production S3 backend (on moto); the reviewed synth may use local
        # state, so the plans come from a second synth with a state bucket.
        s3_synth = Path(work) / "synth-s3"
        synthesize(s3_synth, {"CLOUDAGENT_STATE_BUCKET": SCAN_STATE_BUCKET})
        plans, plan_errors = plan_stacks(s3_synth, scan_dir / "plans", Path(work), out)
    synth_run = run_checkov(
        [synth_dir / "stacks"],
        framework="terraform_json",
        output_dir=scan_dir / "synth",
        view="synth",
    )
    plan_run = (
        run_checkov(plans, framework="terraform_plan", output_dir=scan_dir / "plan", view="plan")
        if plans
        else CheckovRun(view="plan")
    )
    lint = parliament_findings(synth_dir)
    summary = {
        "checkov": [synth_run.as_dict(), plan_run.as_dict()],
        "planned": [p.name.split(".")[0] for p in plans],
        "plan_errors": {k: v[-2000:] for k, v in plan_errors.items()},
        "parliament_failures": lint,
        "sarif": [
            str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)
            for p in sorted(scan_dir.glob("*/results_sarif.sarif"))
        ],
        "seconds": round(time.monotonic() - started, 1),
    }
    (scan_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    _print_report(summary, (synth_run, plan_run), plan_errors, lint, scan_dir, out)
    clean = not (
        synth_run.failed_count
        or plan_run.failed_count
        or synth_run.parsing_errors
        or plan_run.parsing_errors
        or plan_errors
        or lint
    )
    return 0 if clean else 1


def _print_report(
    summary: dict[str, Any],
    runs: tuple[CheckovRun, CheckovRun],
    plan_errors: dict[str, str],
    lint: list[dict[str, str]],
    scan_dir: Path,
    out: Callable[[str], None],
) -> None:
    """What the full scan found, as `make scan` prints it."""
    for run in runs:
        out(
            f"checkov {run.view:<5}: {run.passed_count} passed, {run.failed_count} failed, "
            f"{run.parsing_errors} parsing errors ({run.seconds:.1f}s)"
        )
        for failure in run.as_dict()["failures"]:
            out(f"  FAILED {failure['check']} {failure['resource']} {failure['file']}")
            for detail in failure["details"]:
                out(f"      {detail}")
    out(f"planned: {', '.join(summary['planned']) or 'nothing'}")
    for stack, error in plan_errors.items():
        out(f"  NOT PLANNED {stack}: {error.splitlines()[0]}")
    out(f"parliament: {len(lint)} unjustified finding(s)")
    for finding in lint:
        out(f"  {finding['document']}: {finding['issue']} {finding['detail']}")
    out(f"SARIF: {', '.join(summary['sarif'])}; summary: {scan_dir / 'summary.json'}")
    out(f"scan took {summary['seconds']}s")
