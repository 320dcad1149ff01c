"""Fixtures for the workflow tests."""

from __future__ import annotations

import pytest

from tests.support.workflows import WORKFLOWS


@pytest.fixture(scope="session")
def workflow_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(WORKFLOWS.glob("*.yml"))}
