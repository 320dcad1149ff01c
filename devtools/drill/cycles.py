"""`make up` / `make down` N times in a row in one fresh directory: is the rehearsal repeatable?

`python -m devtools.drill.cycles --cycles 20` (the long form of `make drill`). Each cycle runs
`python -m devtools.local.up` then `python -m devtools.local.down` as subprocesses with
`CLOUDAGENT_LOCAL_DIR` pointing at a new temporary directory (a developer's own `.local/` is
never touched), exactly as a user's `make up` / `make down` would. A failure that happens once
in ten tries (the `api` apply's `CreateStage 409`, issue 25) only shows over many cycles, so
the drill stops at the first failure and prints the tail of that step's output and of the
embedded AWS's log (`moto.log`, which names every request the SDK retried) - the evidence
for the next diagnosis - and always ends with `make down`, so nothing is left running.

Prints one line per cycle (up and down seconds) and a summary: cycles passed / failed and the
p50 / p95 of `make up`'s time. Exits non-zero on a failure.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from toolchain.paths import PROJECT_ROOT

TAIL_LINES = 40


@dataclass
class Cycle:
    """One `make up` + `make down`: seconds each took, and what failed (None when both passed)."""

    number: int
    up_seconds: float = 0.0
    down_seconds: float = 0.0
    failure: str | None = None


@dataclass
class Summary:
    """The drill's figures: what BENCHMARKS.md and the final line report."""

    cycles: list[Cycle] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cycles if c.failure is None)

    @property
    def failed(self) -> int:
        return len(self.cycles) - self.passed

    def up_percentile(self, p: float) -> float:
        """Nearest-rank percentile of the passed cycles' `make up` seconds (0 when none)."""
        return percentile([c.up_seconds for c in self.cycles if c.failure is None], p)

    def line(self) -> str:
        return (
            f"cycles: {self.passed} passed, {self.failed} failed of {len(self.cycles)}; "
            f"make up p50 {self.up_percentile(50):.1f}s p95 {self.up_percentile(95):.1f}s"
        )


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: a value that was measured, never an interpolation."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.drill.cycles", description=__doc__)
    parser.add_argument("--cycles", type=int, default=20, help="make up/down pairs (default 20)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="CLOUDAGENT_LOCAL_DIR to use (default: a new temporary directory)",
    )
    args = parser.parse_args(argv)
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    return args


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _step(module: str, local_dir: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run `python -m <module>` as `make` would; its seconds and its completed process."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CLOUDAGENT_LOCAL_DIR": str(local_dir)},
        capture_output=True,
        text=True,
    )
    return time.monotonic() - started, result


def _failure(step: str, result: subprocess.CompletedProcess[str], local_dir: Path) -> str:
    moto_log = local_dir / "moto.log"
    retried = ""
    if moto_log.exists():
        lines = moto_log.read_text(errors="replace").splitlines()
        retried = "\n".join(line for line in lines if "retried" in line or "Error on" in line)
    return (
        f"{step} exited {result.returncode}\n--- output (tail) ---\n"
        f"{tail(result.stdout + result.stderr)}"
        + (f"\n--- moto.log: retried / failed requests ---\n{tail(retried)}" if retried else "")
    )


def run_cycles(count: int, local_dir: Path, out: Callable[[str], None] = print) -> Summary:
    """Up then down `count` times; stops after the first failed cycle (its down still runs)."""
    summary = Summary()
    for number in range(1, count + 1):
        cycle = Cycle(number)
        summary.cycles.append(cycle)
        cycle.up_seconds, up = _step("devtools.local.up", local_dir)
        if up.returncode != 0:
            cycle.failure = _failure("make up", up, local_dir)
        cycle.down_seconds, down = _step("devtools.local.down", local_dir)
        if down.returncode != 0 and cycle.failure is None:
            cycle.failure = _failure("make down", down, local_dir)
        out(
            f"cycle {number:>2}/{count}: up {cycle.up_seconds:6.1f}s  "
            f"down {cycle.down_seconds:5.1f}s  {'PASS' if cycle.failure is None else 'FAIL'}"
        )
        if cycle.failure is not None:
            out(cycle.failure)
            break
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        summary = run_cycles(args.cycles, args.dir.resolve(), out=lambda s: print(s, flush=True))
    else:
        with tempfile.TemporaryDirectory(prefix="cloudagent-cycles-") as tmp:
            summary = run_cycles(args.cycles, Path(tmp), out=lambda s: print(s, flush=True))
    print(summary.line())
    return 0 if summary.failed == 0 and len(summary.cycles) == args.cycles else 1


if __name__ == "__main__":
    sys.exit(main())
