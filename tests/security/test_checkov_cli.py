"""The project checks through the real `checkov` CLI, in both frameworks the scan uses.

terraform_json: one run over every planted copy of the synth (planted/<case>/cdk.tf.json) and
the unmodified stacks (clean/<stack>/cdk.tf.json).
terraform_plan: a real `terraform plan` (against moto server) of planted resources taken from
the synth, shown as JSON — Checkov hands checks parsed policies and container definitions there,
and the checks must still see each violation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from devtools.moto_server import MotoServer
from devtools.terraform import Terraform
from security.iam_lint import resolve
from tests.support.checkov import ALL_IDS as CHECK_IDS
from tests.support.checkov import results, run_checkov
from tests.support.planting import PLANTS, planted

ALL_IDS = set(CHECK_IDS)


def _failed_by_file(reports: list[dict]) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for failure in results(reports, "failed_checks"):
        found.setdefault(failure["file_path"], set()).add(
            (failure["check_id"], failure["resource"].rsplit(".", 1)[-1])
        )
    return found


def test_cli_runs_every_project_check_on_the_clean_synth(planted_scan: list[dict]) -> None:
    assert all(r["summary"]["parsing_errors"] == 0 for r in planted_scan)
    clean_failures = [
        f"{f['check_id']} {f['resource']} {f.get('details')}"
        for f in results(planted_scan, "failed_checks")
        if "/clean/" in f["file_path"]
    ]
    assert not clean_failures
    passed = {f["check_id"] for f in results(planted_scan, "passed_checks")}
    assert passed == ALL_IDS, f"never passed on a clean stack: {ALL_IDS - passed}"


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.case)
def test_cli_fails_the_planted_resource(
    plant: Any, planted_scan: list[dict], stacks: dict[str, dict]
) -> None:
    _, name = planted(stacks[plant.stack], plant)
    failed = _failed_by_file(planted_scan).get(f"/planted/{plant.case}/cdk.tf.json", set())
    assert (plant.check, name) in failed, failed


# --- terraform_plan ---------------------------------------------------------------------------

PLAN_CASES = (
    "oidc_string_like",
    "task_role_s3",
    "resource_star_scoped_action",
    "container_root_user",
    "container_blocking_logs",
    "container_provider_key_in_env",
    "proxy_root_user",
    "agent_gets_provider_key",
    "provider_key_moved_to_agent",
    "repo_token_on_agent",
    "log_retention_30",
    "kms_rotation_off",
    "distribution_without_acl",
    "acl_missing_known_bad_inputs",
    "agent_sg_ingress",
    "agent_sg_dns_anywhere",
    "dns_firewall_deny_only_alerts",
    "bucket_public_acls_allowed",
    "bucket_sse_s3",
    "bucket_never_expires",
)


def _literal(body: dict) -> dict:
    """The block with every `${...}` replaced by a literal of its type (plannable alone)."""
    text, _ = resolve(json.dumps(body))
    block = json.loads(text)
    block.pop("//", None)
    block.pop("provider", None)  # the us-east-1 alias: the plan has one provider
    return block


@pytest.fixture(scope="module")
def planted_plan(
    stacks: dict[str, dict],
    moto: MotoServer,
    cli_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A real plan (terraform show -json) of planted resources; case -> (check, address)."""
    workdir = tmp_path_factory.mktemp("planted-plan")
    resources: dict[str, dict] = {}
    expected: dict[str, tuple[str, str]] = {}
    for plant in (p for p in PLANTS if p.case in PLAN_CASES):
        doc, name = planted(stacks[plant.stack], plant)
        local = f"{plant.case}"
        resources.setdefault(plant.resource_type, {})[local] = _literal(
            doc["resource"][plant.resource_type][name]
        )
        expected[plant.case] = (plant.check, f"{plant.resource_type}.{local}")
    config = {
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}
        },
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": resources,
    }
    (workdir / "main.tf.json").write_text(json.dumps(config, indent=1))
    tf = Terraform(workdir, cli_config, moto.aws_env("us-east-1"))
    tf.init()
    tf.run("plan", "-input=false", "-refresh=false", "-out=planted.tfplan")
    plan = workdir / "planted.plan.json"
    plan.write_text(tf.run("show", "-json", "planted.tfplan").stdout)
    shutil.rmtree(workdir / ".terraform", ignore_errors=True)
    return plan, expected


def test_cli_fails_planted_resources_in_a_terraform_plan(
    planted_plan: tuple[Path, dict[str, tuple[str, str]]],
) -> None:
    plan, expected = planted_plan
    reports = run_checkov("-f", str(plan), "--framework", "terraform_plan", "--check", "CKV_CA_*")
    assert reports[0]["check_type"] == "terraform_plan"
    failed = {(f["check_id"], f["resource"]) for f in results(reports, "failed_checks")}
    missing = {case: hit for case, hit in expected.items() if hit not in failed}
    assert not missing, f"not failed in the plan: {missing}; failed: {sorted(failed)}"
