"""`python -m devtools.drill [--short] [--only NAME ...] [--write-benchmarks]`.

Runs the drills against the running `make up` (CLOUDAGENT_LOCAL_DIR or .local), one line per
drill with its figures and PASS/FAIL, and exits 1 when any failed. A drill whose module is not
there is reported as skipped, so the drills can land one at a time.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Callable

from devtools.drill.context import DrillContext, DrillReport

# name -> (module under devtools.drill, function): the order `make drill` runs them in. The
# soak comes last: it measures the API server's memory after the others have used it.
DRILLS: dict[str, tuple[str, str]] = {
    "burst": ("burst", "run"),
    "idempotency": ("burst", "run_idempotency"),
    "events": ("events", "run"),
    "kills": ("kills", "run"),
    "soak": ("soak", "run"),
}

Drill = Callable[..., DrillReport]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.drill", description=__doc__)
    parser.add_argument(
        "--short", action="store_true", help="the short forms (as `make test` runs them)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(DRILLS),
        metavar="NAME",
        help=f"run only this drill (repeatable): {', '.join(DRILLS)}",
    )
    parser.add_argument(
        "--write-benchmarks",
        action="store_true",
        help="rewrite the drills' section of BENCHMARKS.md with these figures",
    )
    return parser.parse_args(argv)


def selected(only: list[str] | None) -> list[str]:
    """The drills to run, in DRILLS' order, each once."""
    return [name for name in DRILLS if not only or name in only]


def load(name: str) -> Drill | None:
    """The drill's function, or None when its module is not there yet."""
    module_name, function = DRILLS[name]
    full = f"devtools.drill.{module_name}"
    try:
        module = importlib.import_module(full)
    except ModuleNotFoundError as error:
        if error.name == full:
            return None
        raise
    return getattr(module, function)


def run_one(name: str, drill: Drill, ctx: DrillContext, short: bool) -> DrillReport:
    """The drill's report; a drill that raised is a failure that says where."""
    began = time.monotonic()
    try:
        report = drill(ctx, short=short)
    except Exception as error:  # a broken drill is a failed drill, and the others still run
        where = traceback.extract_tb(error.__traceback__)[-1]
        return DrillReport.of(
            name,
            {},
            [f"raised {error!r} at {where.filename}:{where.lineno}"],
            time.monotonic() - began,
        )
    if not report.seconds:
        report.seconds = time.monotonic() - began
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ctx = DrillContext.from_env()
    reports: list[DrillReport] = []
    for name in selected(args.only):
        drill = load(name)
        if drill is None:
            module = DRILLS[name][0]
            print(f"{name:<12} SKIP  devtools/drill/{module}.py is not there yet", flush=True)
            continue
        report = run_one(name, drill, ctx, args.short)
        reports.append(report)
        print(report.line(), flush=True)
    if args.write_benchmarks and reports:
        from devtools.drill.report import write_benchmarks

        print(f"wrote {write_benchmarks(reports, short=args.short)}")
    failed = [r.name for r in reports if not r.passed]
    print(f"drills: {len(reports) - len(failed)} passed, {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
