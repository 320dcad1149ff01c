"""`python -m devtools.scan` (`make scan`; `--quick`: `make synth`'s last step)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from devtools import scan
from devtools.scan.full import full_scan
from devtools.scan.quick import quick_scan
from toolchain.paths import PROJECT_ROOT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.scan", description=scan.__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="Checkov on cdktf.out + parliament only"
    )
    parser.add_argument("--no-synth", action="store_true", help="scan cdktf.out as it is")
    parser.add_argument("--outdir", type=Path, default=PROJECT_ROOT / "cdktf.out")
    args = parser.parse_args(argv)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if args.quick:
        return quick_scan(args.outdir)
    return full_scan(args.outdir, synth=not args.no_synth)


if __name__ == "__main__":
    sys.exit(main())
