"""`make synth`: synthesize the three stacks on local defaults and summarize what came out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from stacks.shared.constants import STACK_NAMES
from toolchain.paths import PROJECT_ROOT


def synthesize(outdir: Path, env: dict[str, str] | None = None) -> None:
    """Run the app exactly as `cdktf synth` does (`python main.py`), into `outdir`."""
    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {}), "CLOUDAGENT_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(result.returncode)


def _shown(path: Path) -> Path:
    """A path as the user would type it: relative to the project when inside it."""
    return path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path


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
            f"backend={backend:<5} {_shown(path)}"
        )
    return lines


def main() -> int:
    outdir = PROJECT_ROOT / "cdktf.out"
    started = time.monotonic()
    synthesize(outdir)
    print(f"Synthesized {len(STACK_NAMES)} stacks in {time.monotonic() - started:.1f}s:")
    print("\n".join(summarize(outdir)))
    print(f"Deploy one with: terraform -chdir={_shown(outdir)}/stacks/<name> init && apply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
