"""Local-only Terraform overrides: how long Terraform waits on moto, nothing about AWS."""

from __future__ import annotations

import json
from typing import Any

from devtools.deploy import LocalDeployment

LOCAL_OVERRIDE_FILE = "local_override.tf.json"


def local_overrides(stack_json: dict[str, Any]) -> dict[str, Any] | None:
    """Terraform overrides that change how long Terraform waits on moto, nothing in AWS.

    `wait_for_deployment = false` on CloudFront distributions: the provider otherwise sleeps
    30 s before its first status poll on create and again on destroy, although moto reports
    the distribution Deployed at once. The distribution's configuration is untouched.
    """
    distributions = stack_json.get("resource", {}).get("aws_cloudfront_distribution", {})
    if not distributions:
        return None
    return {
        "resource": {
            "aws_cloudfront_distribution": {
                name: {"wait_for_deployment": False} for name in distributions
            }
        }
    }


def write_local_overrides(deployment: LocalDeployment, stack: str) -> None:
    """Place `local_overrides` next to the stack's working copy (removed when not needed)."""
    doc = json.loads((deployment.synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
    target = deployment.workdir(stack) / LOCAL_OVERRIDE_FILE
    overrides = local_overrides(doc)
    if overrides:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(overrides, indent=2))
    else:
        target.unlink(missing_ok=True)
