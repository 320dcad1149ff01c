"""Supply chain: the Python tree installs only files whose sha256 is locked.

`requirements.lock` pins every package with `--hash=sha256:` lines (pip-compile
--generate-hashes, `make lock`); so does `requirements-bootstrap.lock`, which holds the
installer (uv). The Makefile installs uv from its lock with pip and then the tree with uv, both
with `--require-hashes`, so neither takes a file whose hash a lock does not list, whichever
index or mirror serves it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}$")


def logical_lines(text: str) -> list[str]:
    """Requirement lines with their `\\` continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (line.split("#", 1)[0].strip() for line in joined.splitlines())
    return [line for line in lines if line]


def entries(text: str) -> dict[str, list[str]]:
    """Package name -> the options after its pin (the hashes)."""
    out: dict[str, list[str]] = {}
    for line in logical_lines(text):
        spec, *options = line.split()
        requirement = Requirement(spec)
        out[canonicalize_name(requirement.name)] = [spec, *options]
    return out


@pytest.fixture(scope="module")
def lock() -> dict[str, list[str]]:
    return entries((ROOT / "requirements.lock").read_text())


@pytest.fixture(scope="module")
def bootstrap_lock() -> dict[str, list[str]]:
    return entries((ROOT / "requirements-bootstrap.lock").read_text())


def assert_pinned_and_hashed(lock: dict[str, list[str]]) -> None:
    for name, (spec, *options) in lock.items():
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[^=,;\s]+", spec), f"{name}: not pinned ({spec})"
        hashes = [o for o in options if HASH.match(o)]
        assert hashes, f"{name}: no --hash=sha256: in requirements.lock"
        assert len(hashes) == len(options), f"{name}: unexpected options {options}"


def test_every_lock_entry_is_pinned_and_hashed(lock: dict[str, list[str]]) -> None:
    assert len(lock) > 100, "the lock holds the whole tree, not just the top level"
    assert_pinned_and_hashed(lock)


def test_the_installer_is_pinned_and_hashed(bootstrap_lock: dict[str, list[str]]) -> None:
    assert set(bootstrap_lock) == {"uv"}
    assert_pinned_and_hashed(bootstrap_lock)
    wanted = entries((ROOT / "requirements-bootstrap.in").read_text())
    assert wanted["uv"][0] == bootstrap_lock["uv"][0], "make lock after changing the .in"


def test_an_unhashed_entry_is_caught() -> None:
    with pytest.raises(AssertionError, match="no --hash"):
        assert_pinned_and_hashed(entries("uv==0.9.30\n"))


def test_lock_pins_every_top_level_requirement(lock: dict[str, list[str]]) -> None:
    wanted = entries((ROOT / "requirements.in").read_text())
    assert set(wanted) <= set(lock)


def test_lock_pins_the_installers_own_packages(lock: dict[str, list[str]]) -> None:
    """Hash-checking mode needs every dependency pinned, chalice's pip/setuptools/wheel too."""
    assert {"pip", "setuptools", "wheel"} <= set(lock)


def test_lock_names_no_index(lock: dict[str, list[str]]) -> None:
    """Indexes come from the machine's pip config, never from the lock (hashes bind files)."""
    text = (ROOT / "requirements.lock").read_text()
    assert not re.search(r"^\s*--(extra-)?index-url|^\s*--find-links", text, re.MULTILINE)


def make_recipe(target: str) -> str:
    """The recipe lines of one Makefile target (tab-indented lines after its header)."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        body.append(line)
    return "\n".join(body)


def test_make_installs_the_locks_with_require_hashes() -> None:
    """uv from its own lock (pip, --no-deps), then the tree with uv; nothing else installs."""
    installs = [line for line in make_recipe("$(STAMP)").splitlines() if "pip install" in line]
    assert len(installs) == 2, installs
    bootstrap, tree = installs
    assert "-r requirements-bootstrap.lock" in bootstrap and "--no-deps" in bootstrap
    assert "uv pip install" in tree and "-r requirements.lock" in tree
    for line in installs:
        assert "--require-hashes" in line, line


def test_make_lock_writes_hashes() -> None:
    recipe = make_recipe("lock")
    assert "pip-compile" in recipe and "--generate-hashes" in recipe
    assert "requirements-bootstrap" in recipe
    assert "--no-emit-index-url" in recipe and "--no-emit-find-links" in recipe
