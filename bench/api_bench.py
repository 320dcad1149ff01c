"""Control Lambda budgets: handler import time and deployment zip size (docs/ARCHITECTURE.md §9).

* import: median wall time of ``import app`` in fresh interpreters (``python -c``), with the
  chalice_api directory first on sys.path as in Lambda and no AWS configuration at all; also
  reports which heavy modules the import pulled in (boto3, jwt, cryptography must not be).
* zip: the package the api stack deploys (``toolchain/chalice_package.py``: ``chalice package`` on
  a clean copy of the sources, into a temporary directory), then the size of deployment.zip and
  a check that boto3/botocore are not bundled.

Usage: .venv/bin/python -m bench.api_bench [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from toolchain.paths import PROJECT_ROOT

APP_DIR = PROJECT_ROOT / "chalice_api"
IMPORT_BUDGET_MS = 150
# With the secret scanner (detect-secrets, PyYAML, requests) bundled; see test_package.py.
ZIP_BUDGET_BYTES = 7 * 1024 * 1024
PROBE = (
    "import sys, time; sys.path.insert(0, {d!r}); t = time.perf_counter(); import app; "
    "dt = time.perf_counter() - t; "
    "heavy = sorted(m for m in ('boto3', 'botocore', 'jwt', 'cryptography', 'detect_secrets') "
    "if m in sys.modules); "
    "print(dt * 1000, ','.join(heavy))"
)


def measure_import(runs: int) -> dict[str, Any]:
    """Median/min/max ms of ``import app`` over ``runs`` fresh interpreters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    samples: list[float] = []
    heavy = ""
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(d=str(APP_DIR))],
            cwd=tempfile.gettempdir(),
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        samples.append(float(out[0]))
        heavy = out[1] if len(out) > 1 else ""
    return {
        "median_ms": round(statistics.median(samples), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
        "runs": runs,
        "heavy_modules_imported": heavy.split(",") if heavy else [],
        "budget_ms": IMPORT_BUDGET_MS,
    }


def package(build_root: Path) -> Path:
    """The zip the api stack deploys: built as synth builds it (clean copy, no bytecode)."""
    sys.path.insert(0, str(APP_DIR.parent))
    from toolchain.chalice_package import build

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return build(region, build_root=build_root).zip_path


def measure_zip() -> dict[str, Any]:
    """Size and top-level contents of the packaged zip."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        zip_path = package(Path(tmp))
        seconds = time.perf_counter() - start
        with zipfile.ZipFile(zip_path) as zf:
            names = zf.namelist()
        size = zip_path.stat().st_size
    tops = sorted({n.split("/", 1)[0] for n in names})
    return {
        "bytes": size,
        "mib": round(size / 1024 / 1024, 2),
        "budget_bytes": ZIP_BUDGET_BYTES,
        "files": len(names),
        "boto3_bundled": any(t.startswith(("boto3", "botocore")) for t in tops),
        "top_level": tops,
        "package_seconds": round(seconds, 1),
    }


def main() -> int:
    """Print the numbers; exit 1 if a budget is exceeded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"import": measure_import(args.runs), "zip": measure_zip()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        imp, z = result["import"], result["zip"]
        print(
            f"import app: median {imp['median_ms']} ms (min {imp['min_ms']}, max "
            f"{imp['max_ms']}, {imp['runs']} runs; budget {IMPORT_BUDGET_MS} ms); heavy "
            f"modules at import: {imp['heavy_modules_imported'] or 'none'}"
        )
        print(
            f"deployment.zip: {z['bytes']} bytes ({z['mib']} MiB; budget "
            f"{ZIP_BUDGET_BYTES // 2**20} MiB), {z['files']} files, boto3 bundled: "
            f"{z['boto3_bundled']}"
        )
    ok = (
        result["import"]["median_ms"] <= IMPORT_BUDGET_MS
        and result["zip"]["bytes"] <= ZIP_BUDGET_BYTES
        and not result["zip"]["boto3_bundled"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
