"""Packaging: ``chalice package`` works, bundles the JWT library and the secret scanner, not
boto3; import is cheap (the scanner is imported on the first scan)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.control_api import APP_DIR, ZIP_BUDGET_BYTES
from toolchain.chalice_package import source_files


def test_chalice_package_zip(tmp_path: Path) -> None:
    """Packaged from the files that ship (as toolchain/chalice_package.py does): the working
    tree's __pycache__, written by the tests themselves, must not count against the budget."""
    app = tmp_path / "app"
    for relative in source_files(APP_DIR):
        (app / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(APP_DIR / relative, app / relative)
    out = tmp_path / "out"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}
    for var in ("TABLE_NAME", "CLUSTER_ARN", "OIDC_AUDIENCE"):
        env.pop(var, None)  # packaging must not need the runtime configuration
    subprocess.run(
        [str(Path(sys.executable).with_name("chalice")), "package", str(out)],
        cwd=app,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    zip_path = out / "deployment.zip"
    assert zip_path.stat().st_size < ZIP_BUDGET_BYTES
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert not [n for n in names if n.startswith(("app", "chalicelib")) and n.endswith(".pyc")]
    assert not {t for t in tops if t.startswith(("boto3", "botocore", "moto", "hypothesis"))}
    assert {"app.py", "chalicelib", "jwt", "cryptography", "detect_secrets"} <= tops
    assert not {t for t in tops if t in ("stacks", "tests", "cdktf")}

    sam = json.loads((out / "sam.json").read_text())
    handlers = {
        v["Properties"]["Handler"]
        for v in sam["Resources"].values()
        if v["Type"] == "AWS::Serverless::Function"
    }
    assert handlers == {"app.app", "app.task_state", "app.reaper", "app.admin"}
    runtimes = {
        v["Properties"]["Runtime"]
        for v in sam["Resources"].values()
        if v["Type"] == "AWS::Serverless::Function"
    }
    assert runtimes == {"python3.11"}


def test_import_needs_no_config_and_defers_heavy_modules() -> None:
    probe = (
        "import sys; import app; "
        "heavy = ('boto3', 'botocore', 'jwt', 'cryptography', 'detect_secrets', 'requests', "
        "'yaml'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "OIDC_"))}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


def test_app_never_imports_stacks_or_test_packages() -> None:
    forbidden = ("stacks", "cdktf", "moto", "pytest", "hypothesis", "tests")
    for path in APP_DIR.rglob("*.py"):
        for line in path.read_text().splitlines():
            words = line.strip().split()
            if len(words) >= 2 and words[0] in ("import", "from"):
                assert words[1].split(".")[0] not in forbidden, (path, line)


def test_requirements_pin_exact_versions() -> None:
    lines = [
        ln.strip()
        for ln in (APP_DIR / "requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines and all("==" in ln for ln in lines)
    assert not any(ln.lower().startswith(("boto3", "botocore")) for ln in lines)
