"""The control API's layers contract (``[tool.importlinter]`` in pyproject.toml) holds, and it
would catch an import that goes the wrong way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.control_api import APP_DIR

PROJECT_ROOT = APP_DIR.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(app_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(app_dir)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(PROJECT_ROOT / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layers_contract_is_kept() -> None:
    result = lint_imports(APP_DIR, PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_wrong_way_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "chalice_api"
    shutil.copytree(APP_DIR / "chalicelib", copy / "chalicelib")
    store = copy / "chalicelib" / "persistence" / "store.py"
    # persistence reaching up into runs (and across into cloud): both are refused.
    store.write_text(
        store.read_text()
        + "\nfrom ..runs import lifecycle  # noqa\nfrom ..cloud import ecs  # noqa\n"
    )
    result = lint_imports(copy, tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "chalicelib.persistence.store -> chalicelib.runs.lifecycle" in result.stdout
    assert "chalicelib.persistence.store -> chalicelib.cloud.ecs" in result.stdout
