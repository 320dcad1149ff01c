"""The stacks' Terraform plans, made on moto server with the production S3 backend."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stacks.shared.constants import STACK_NAMES

SCAN_STATE_BUCKET = "cloudagent-tfstate-scan"
APPLIED_FIRST = ("foundation", "agent")  # their outputs feed the later stacks' remote state


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
