"""Shared readers for the delivery tests: synthesized roles, workflow files, Makefile targets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load_workflow(text: str) -> dict:
    """YAML as GitHub reads it; PyYAML (YAML 1.1) turns the `on:` key into True."""
    doc = yaml.safe_load(text)
    if isinstance(doc, dict) and True in doc:
        doc["on"] = doc.pop(True)
    return doc


@pytest.fixture(scope="session")
def workflow_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(WORKFLOWS.glob("*.yml"))}


def makefile_targets(text: str) -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))


def roles(stacks: dict[str, dict]) -> dict[str, dict]:
    """Every aws_iam_role in every stack, keyed `stack/name`."""
    found = {}
    for stack, doc in stacks.items():
        for key, role in doc.get("resource", {}).get("aws_iam_role", {}).items():
            found[f"{stack}/{role['name']}"] = {**role, "_key": key, "_stack": stack}
    return found


def role_policies(stacks: dict[str, dict], stack: str, role_key: str) -> list[dict]:
    """Inline policy documents of one role (separate aws_iam_role_policy resources)."""
    ref = f"${{aws_iam_role.{role_key}.id}}"
    docs = stacks[stack].get("resource", {}).get("aws_iam_role_policy", {}).values()
    return [json.loads(p["policy"]) for p in docs if p["role"] == ref]
