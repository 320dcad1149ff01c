"""Node packages the dev tools run, installed offline-capable from a committed npm lock.

Each tool keeps a folder with `package.json` and `package-lock.json` (and any script of its own);
`npm ci` installs it once into `.cache/<name>/<hash>`, keyed by the hash of every file in that
folder, so a changed lock or script gets a fresh install and two processes never see a
half-finished one (the staging folder is renamed into place).
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from toolchain.paths import PROJECT_ROOT

CACHE = PROJECT_ROOT / ".cache"


def _files(package: Path) -> list[Path]:
    return sorted(p for p in package.iterdir() if p.is_file())


def installed(package: Path, name: str) -> Path:
    """The install folder of `package` (its files beside `node_modules/`), installed once."""
    digest = hashlib.sha256()
    for path in _files(package):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    cache = CACHE / name
    target = cache / digest.hexdigest()[:16]
    if (target / "node_modules").is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if (target / "node_modules").is_dir():
            return target
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=".staging-"))
        try:
            for path in _files(package):
                shutil.copy2(path, staging / path.name)
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=staging,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if result.returncode != 0:
                raise RuntimeError(f"npm ci for {name} failed:\n{result.stdout}{result.stderr}")
            staging.rename(target)  # atomic: a half-finished install is never seen
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
