"""The tree stays ruff-clean (format and lint), so `make lint` is never a surprise in review."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from toolchain.paths import PROJECT_ROOT

RUFF = Path(sys.executable).parent / "ruff"


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff(command: list[str]) -> None:
    result = subprocess.run([str(RUFF), *command], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
