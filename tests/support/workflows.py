"""Readers of the delivery files: workflow YAML as GitHub reads it, Makefile targets."""

from __future__ import annotations

import re

import yaml

from toolchain.paths import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"


def load_workflow(text: str) -> dict:
    """YAML as GitHub reads it; PyYAML (YAML 1.1) turns the `on:` key into True."""
    doc = yaml.safe_load(text)
    if isinstance(doc, dict) and True in doc:
        doc["on"] = doc.pop(True)
    return doc


def makefile_targets(text: str) -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))
