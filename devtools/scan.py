"""`make scan`: Checkov and parliament over the synthesized stacks and their Terraform plans.

Two views of the same infrastructure, because each sees what the other cannot:
- the synthesized JSON (`cdktf.out`, framework `terraform_json`) is what is reviewed and
  committed to; every value is there, with `${...}` where another resource's attribute goes;
- `terraform show -json` of each stack's plan (framework `terraform_plan`) has those references
  resolved to the ARNs Terraform will use. The plans are made against moto server with the
  production S3 backend: foundation and agent are applied first, so agent's and api's
  `terraform_remote_state` read real outputs, then all three stacks are planned.

Results: `cdktf.out/scan/` holds Checkov's JSON and SARIF (for GitHub code scanning) per view,
the plans, and `summary.json`. The exit status is non-zero on any failed check, any parliament
finding not justified in `security/parliament_allow.py`, or a stack that could not be planned.

`quick_scan()` is the fast half (Checkov on `cdktf.out` and parliament, no Terraform): `make
synth` ends with it (`python -m devtools.scan --quick`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.shared.constants import STACK_NAMES
from toolchain.paths import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "security" / "checkov.yaml"
CHECKS_DIR = PROJECT_ROOT / "security" / "checks"
SCAN_STATE_BUCKET = "cloudagent-tfstate-scan"
APPLIED_FIRST = ("foundation", "agent")  # their outputs feed the later stacks' remote state


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


def plan_stacks(
    synth_dir: Path, plan_dir: Path, workroot: Path, progress: Callable[[str], None]
) -> tuple[list[Path], dict[str, str]]:
    """Apply foundation and agent on moto, plan all stacks; (plan JSON files, stack -> error)."""
    from devtools import moto_server
    from devtools.deploy import LocalDeployment
    from devtools.terraform import TerraformError, write_cli_config

    plan_dir.mkdir(parents=True, exist_ok=True)
    plans: list[Path] = []
    errors: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="cloudagent-scan-") as work,
        moto_server.start() as moto,
    ):
        workroot = Path(work)
        deployment = LocalDeployment(
            synth_dir=synth_dir,
            workroot=workroot / "stacks",
            moto=moto,
            bucket=SCAN_STATE_BUCKET,
            region=_region(synth_dir),
            cli_config=write_cli_config(workroot / "terraform.rc"),
            progress=progress,
        )
        stacks = [s for s in STACK_NAMES if _has_resources(synth_dir, s)]
        for stack in (s for s in APPLIED_FIRST if s in stacks):
            try:
                deployment.apply(stack)
            except TerraformError as error:
                errors[stack] = f"apply on moto failed: {error}"
                return plans, errors

        def plan(stack: str) -> Path:
            progress(f"{stack}: plan")
            tf = deployment.prepare(stack)
            tf.run("plan", "-input=false", "-lock=false", "-out=scan.tfplan")
            target = plan_dir / f"{stack}.plan.json"
            target.write_text(tf.run("show", "-json", "scan.tfplan").stdout)
            return target

        with ThreadPoolExecutor(max_workers=len(stacks) or 1) as pool:
            futures = {stack: pool.submit(plan, stack) for stack in stacks}
            for stack, future in futures.items():
                try:
                    plans.append(future.result())
                except TerraformError as error:
                    errors[stack] = f"plan failed: {error}"
    return plans, errors


def _has_resources(synth_dir: Path, stack: str) -> bool:
    doc = json.loads((synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
    return bool(doc.get("resource"))


def _region(synth_dir: Path) -> str:
    doc = json.loads((synth_dir / "stacks" / STACK_NAMES[0] / "cdk.tf.json").read_text())
    providers = doc.get("provider", {}).get("aws", [{}])
    return next((p["region"] for p in providers if "alias" not in p and "region" in p), "us-east-1")


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
    for run in (synth_run, plan_run):
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
    clean = not (
        synth_run.failed_count
        or plan_run.failed_count
        or synth_run.parsing_errors
        or plan_run.parsing_errors
        or plan_errors
        or lint
    )
    return 0 if clean else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.scan", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="Checkov on cdktf.out + parliament only"
    )
    parser.add_argument("--no-synth", action="store_true", help="scan cdktf.out as it is")
    parser.add_argument("--outdir", type=Path, default=PROJECT_ROOT / "cdktf.out")
    args = parser.parse_args(argv)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if args.quick:
        return quick_scan(args.outdir)
    return full_scan(args.outdir, synth=not args.no_synth)


if __name__ == "__main__":
    sys.exit(main())
