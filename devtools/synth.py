"""`make synth`: synthesize the three stacks on local defaults and summarize what came out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from stacks.settings import STACK_NAMES

ROOT = Path(__file__).resolve().parent.parent


def synthesize(outdir: Path, env: dict[str, str] | None = None) -> None:
    """Run the app exactly as `cdktf synth` does (`python main.py`), into `outdir`."""
    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=ROOT,
        env={**os.environ, **(env or {}), "CLOUDAGENT_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(result.returncode)


def summarize(outdir: Path) -> list[str]:
    lines = []
    for name in STACK_NAMES:
        path = outdir / "stacks" / name / "cdk.tf.json"
        doc = json.loads(path.read_text())
        resources = sum(len(v) for v in doc.get("resource", {}).values())
        data = sum(len(v) for v in doc.get("data", {}).values())
        backend = next(iter(doc["terraform"].get("backend", {"none": 0})))
        lines.append(
            f"  {name:<11} {resources:>3} resources {data:>2} data sources  "
            f"backend={backend:<5} {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
        )
    return lines


def main() -> int:
    outdir = ROOT / "cdktf.out"
    started = time.monotonic()
    synthesize(outdir)
    print(f"Synthesized {len(STACK_NAMES)} stacks in {time.monotonic() - started:.1f}s:")
    print("\n".join(summarize(outdir)))
    print(
        f"Deploy one with: terraform -chdir={outdir.relative_to(ROOT)}/stacks/<name> init && apply"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
