"""Synth budget (docs/ARCHITECTURE.md §9: at most 6 s warm): median wall time of `python main.py`.

Warm means the second and later runs: Python bytecode and the Chalice package cache exist.
The ordinary provider import (CLOUDAGENT_SLOW_IMPORT=1) is measured beside it for comparison.

Run: .venv/bin/python -m bench.synth_bench [--runs N] [--slow-runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from toolchain.paths import PROJECT_ROOT

BUDGET_SECONDS = 6.0


def time_synth(runs: int, **env: str) -> list[float]:
    timings = []
    with tempfile.TemporaryDirectory() as outdir:
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "main.py"],
                cwd=PROJECT_ROOT,
                env={**os.environ, "CLOUDAGENT_OUTDIR": outdir, **env},
                check=True,
                capture_output=True,
            )
            timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--slow-runs", type=int, default=2)
    args = parser.parse_args()
    time_synth(1)  # warm-up: bytecode and the Chalice package cache
    fast = time_synth(args.runs)
    slow = time_synth(args.slow_runs, CLOUDAGENT_SLOW_IMPORT="1") if args.slow_runs else []
    print("| synth of all three stacks | median | min | max | runs |")
    print("|---|---:|---:|---:|---:|")
    for label, values in (("on-demand provider import", fast), ("ordinary import", slow)):
        if values:
            print(
                f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f} s "
                f"| {max(values):.2f} s | {len(values)} |"
            )
    median = statistics.median(fast)
    verdict = "met" if median <= BUDGET_SECONDS else "MISSED"
    print(f"\nbudget {BUDGET_SECONDS:.0f} s warm: {verdict}")
    return 0 if median <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
