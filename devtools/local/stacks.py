"""`make up`'s stacks: synth with the local state bucket, then init + apply each in order."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.deploy import LocalDeployment
from devtools.local.overrides import write_local_overrides
from devtools.local.paths import LocalPaths
from devtools.local.report import StackReport
from devtools.moto_server import MotoServer
from devtools.plan_only import plan_only
from devtools.synth import synthesize
from devtools.terraform import write_cli_config
from stacks.shared.constants import STACK_NAMES


def region_of(synth_dir: Path) -> str:
    doc = json.loads((synth_dir / "stacks" / STACK_NAMES[0] / "cdk.tf.json").read_text())
    providers = doc.get("provider", {}).get("aws", [{}])
    return next((p["region"] for p in providers if "alias" not in p and "region" in p), "us-east-1")


def _changes(apply_output: str) -> str:
    found = re.search(r"(Apply complete! Resources: [^\n]*|No changes\.[^\n]*)", apply_output)
    return found.group(1).rstrip(".") if found else "applied"


def apply_stack(deployment: LocalDeployment, stack: str, out: Callable[[str], None]) -> StackReport:
    """init + apply one stack (planning what moto cannot create instead, plan_only.py), timed."""
    out(f"  {stack:<11} init + apply ...")
    started = time.monotonic()
    write_local_overrides(deployment, stack)
    tf = deployment.prepare(stack)
    init_done = time.monotonic()
    doc = json.loads((deployment.synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
    skipped = plan_only(stack, doc)
    output = tf.apply(*deployment.apply_targets(stack))
    if skipped:
        tf.run("plan", "-input=false", "-lock=false", *[f"-target={a}" for a in skipped])
    done = time.monotonic()
    # Terraform's own account (per-resource times) for when a stack is slow or fails later.
    (deployment.workdir(stack) / "apply.log").write_text(output)
    resources = len(deployment.state(stack).get("resources", []))
    report = StackReport(
        stack=stack,
        init_seconds=init_done - started,
        apply_seconds=done - init_done,
        changes=_changes(output),
        resources=resources,
        planned_only=dict(skipped),
    )
    out(
        f"  {stack:<11} init {report.init_seconds:5.1f}s  apply {report.apply_seconds:5.1f}s  "
        f"{resources:>3} resources in state  ({report.changes})"
    )
    for address, why in skipped.items():
        out(f"  {'':<11} planned, not applied: {address} - {why}")
    return report


def deploy_stacks(
    paths: LocalPaths,
    state: dict[str, Any],
    moto: MotoServer,
    synth_dir: Path | None,
    bucket: str,
    out: Callable[[str], None],
) -> tuple[LocalDeployment, list[StackReport], float]:
    """Synth (unless `synth_dir` is given) and apply every stack; the deployment, its reports
    and the synth's seconds."""
    synth_started = time.monotonic()
    if synth_dir is None:
        shutil.rmtree(paths.synth_dir, ignore_errors=True)
        synthesize(paths.synth_dir, {"CLOUDAGENT_STATE_BUCKET": bucket})
        synth_dir = paths.synth_dir
    synth_seconds = time.monotonic() - synth_started
    out(f"synth: 3 stacks with S3 state in bucket {bucket} ({synth_seconds:.1f}s)")
    region = region_of(synth_dir)
    deployment = LocalDeployment(
        synth_dir=synth_dir,
        workroot=paths.work_dir,
        moto=moto,
        bucket=bucket,
        region=region,
        cli_config=write_cli_config(paths.cli_config),
    )
    state.update(region=region, bucket=bucket, synth_dir=str(synth_dir))
    paths.save_state(state)
    deployment.ensure_state_bucket()
    out(f"stacks (in order, each with its own state in s3://{bucket} on moto):")
    reports = [apply_stack(deployment, stack, out) for stack in STACK_NAMES]
    return deployment, reports, synth_seconds
