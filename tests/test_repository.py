"""Repository hygiene: no build output tracked, small modules, design references that resolve.

These guard the layout the README and docs/ARCHITECTURE.md describe, so the tree keeps
showing the architecture as it grows.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

from toolchain.paths import PROJECT_ROOT

ARCHITECTURE = PROJECT_ROOT / "docs" / "ARCHITECTURE.md"
MAX_FILE_BYTES = 1_000_000
LOCK_FILES = ("requirements.lock", "package-lock.json")
# Build outputs: they are made by `make`, never committed.
BUILD_OUTPUT = re.compile(
    r"(^|/)(cdktf\.out|\.build|\.cache|\.local|\.venv|__pycache__|node_modules|\.terraform)/"
    r"|(^|/)\.chalice/deployments/|\.(zip|tfstate|tfplan|pyc|whl|tar\.gz)$"
)
# Product packages (what ships or synthesizes), held to small modules with one job each.
PRODUCT_PACKAGES = ("stacks", "toolchain", "security", "chalice_api")
# The agent container's entrypoint (Node): the entry file and the modules it requires.
ENTRYPOINT_MODULES = re.compile(r"^image/(entrypoint|lib/[\w-]+\.js)$")
MAX_MODULE_LINES = 300


@pytest.fixture(scope="module")
def tracked() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in out.splitlines() if (PROJECT_ROOT / name).is_file()]


def test_no_build_output_is_tracked(tracked: list[str]) -> None:
    assert [name for name in tracked if BUILD_OUTPUT.search(name)] == []


def test_no_tracked_file_over_a_megabyte_but_lock_files(tracked: list[str]) -> None:
    big = {
        name: (PROJECT_ROOT / name).stat().st_size
        for name in tracked
        if not name.endswith(LOCK_FILES)
    }
    assert {n: size for n, size in big.items() if size > MAX_FILE_BYTES} == {}


def test_product_modules_stay_small(tracked: list[str]) -> None:
    long = {}
    entrypoint = []
    for name in tracked:
        python = name.endswith(".py") and name.split("/", 1)[0] in PRODUCT_PACKAGES
        if ENTRYPOINT_MODULES.match(name):
            entrypoint.append(name)
        elif not python:
            continue
        lines = (PROJECT_ROOT / name).read_text().count("\n")
        if lines > MAX_MODULE_LINES:
            long[name] = lines
    assert long == {}
    assert "image/entrypoint" in entrypoint and len(entrypoint) > 1, "the rule covers image/"


# Functions stay short enough to read at once: a constructor that holds a whole design is split
# into the constructs or steps it is made of. Dev tooling is held to it too.
MAX_FUNCTION_LINES = 60
FUNCTION_RULE_PACKAGES = (*PRODUCT_PACKAGES, "devtools")


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method in `source` longer than `limit` lines."""
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_no_function_over_60_lines(tracked: list[str]) -> None:
    long = {
        name: found
        for name in tracked
        if name.endswith(".py") and name.split("/", 1)[0] in FUNCTION_RULE_PACKAGES
        if (found := long_functions((PROJECT_ROOT / name).read_text()))
    }
    assert long == {}


def test_a_long_function_is_caught() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(59))
    assert long_functions(f"def exactly_60():\n{body}") == []
    method = "".join(f"    {line}\n" for line in f"def long(self):\n{body}    return 1".split("\n"))
    assert long_functions(f"class C:\n{method}") == [("long", 61)]


def _sections() -> set[str]:
    """Section numbers of docs/ARCHITECTURE.md (`## 4. ...` and `### 4.2 ...` headings)."""
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", ARCHITECTURE.read_text(), re.M))


def test_design_references_point_into_the_architecture_document(tracked: list[str]) -> None:
    sections = _sections()
    assert {"1", "4", "5", "6", "7"} <= sections
    stale, dangling = [], []
    for name in tracked:
        path = PROJECT_ROOT / name
        if path.suffix not in (".py", ".md", ".yml", "") or name == "tests/test_repository.py":
            continue
        text = path.read_text(errors="replace")
        if re.search(r"DESIGN(\.md)? ?§", text):
            stale.append(name)
        for number in re.findall(r"ARCHITECTURE\.md §(\d+(?:\.\d+)?)", text):
            if number not in sections:
                dangling.append(f"{name}: §{number}")
    assert stale == [], "cite docs/ARCHITECTURE.md §n instead"
    assert dangling == []


def test_no_test_module_imports_another_and_bench_imports_no_tests(tracked: list[str]) -> None:
    offenders = []
    for name in tracked:
        if not name.endswith(".py"):
            continue
        text = (PROJECT_ROOT / name).read_text()
        if name.startswith("tests/") and re.search(
            r"^from (tests\.\S*\.|\.)test_\w+ import", text, re.M
        ):
            offenders.append(name)
        if name.startswith("bench/") and re.search(
            r"^(from|import) tests\b|[\"']tests[\"/]", text, re.M
        ):
            offenders.append(name)
    assert offenders == []


PATH_MENTION = re.compile(
    r"(?<![\w./-])((?:stacks|toolchain|devtools|security|chalice_api|image|bench|tests|docs)"
    r"/[\w./<>*-]*[\w>*])"
)


def test_files_named_in_code_and_docs_exist(tracked: list[str]) -> None:
    """A comment or document that names a file must name one that exists (or a folder)."""
    missing = []
    for name in tracked:
        path = PROJECT_ROOT / name
        if path.suffix not in (".py", ".md", ".yml", ".yaml", "") or name.startswith("tests/"):
            continue
        for mention in PATH_MENTION.findall(path.read_text(errors="replace")):
            candidate = mention.rstrip(".")
            if "*" in candidate or "<" in candidate:
                continue
            if not (PROJECT_ROOT / candidate).exists():
                missing.append(f"{name}: {candidate}")
    assert missing == []


# --- a clone on another machine -------------------------------------------------------------


def _tracked_links() -> dict[str, str]:
    """Tracked symbolic links (mode 120000) and their targets, as git stores them."""
    out = subprocess.run(
        ["git", "ls-files", "-s"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    links = {}
    for line in out.splitlines():
        meta, name = line.split("\t", 1)
        if meta.startswith("120000 "):
            blob = meta.split()[1]
            links[name] = subprocess.run(
                ["git", "cat-file", "blob", blob], cwd=PROJECT_ROOT, capture_output=True, text=True
            ).stdout
    return links


def links_leaving(links: dict[str, str], root: Path) -> list[str]:
    """The links whose target is absolute or resolves outside `root` (they break other clones)."""
    leaving = []
    for name, target in links.items():
        resolved = os.path.normpath(root / Path(name).parent / target)
        if os.path.isabs(target) or not resolved.startswith(f"{root}{os.sep}"):
            leaving.append(f"{name} -> {target}")
    return leaving


# Folders every machine has: a checkout sitting in one of them says nothing about its neighbours.
SHARED_FOLDERS = ("/", "/tmp", "/var/tmp", "/home", "/root", "/opt", "/srv", "/usr/src")


def build_machine_roots(root: Path = PROJECT_ROOT) -> list[str]:
    """Absolute paths only this machine has: the checkout, the folder of checkouts it sits in
    (e.g. /work/, where another checkout's .venv was linked from), the home's tool caches.
    (Paths inside the image, such as /home/node or /opt/pi, are not these.)"""
    home = Path.home()
    roots = [str(root)]
    if str(root.parent) not in (*SHARED_FOLDERS, str(home)):
        roots.append(f"{root.parent}/")
    roots += [f"{home}/{hidden}" for hidden in (".pyenv", ".cache", ".local")]
    return roots


def naming_build_paths(texts: dict[str, str], roots: list[str]) -> list[str]:
    return [f"{name}: {root}" for name, text in texts.items() for root in roots if root in text]


def test_no_tracked_link_leaves_the_repository() -> None:
    assert links_leaving(_tracked_links(), PROJECT_ROOT) == []


def test_a_link_into_another_checkout_is_caught(tmp_path: Path) -> None:
    links = {".venv": "/work/other-checkout/.venv", "a/b": "../../outside", "doc": "docs/x.md"}
    assert links_leaving(links, tmp_path) == [
        ".venv -> /work/other-checkout/.venv",
        "a/b -> ../../outside",
    ]


def test_no_tracked_file_names_a_path_of_this_machine(tracked: list[str]) -> None:
    texts = {
        name: (PROJECT_ROOT / name).read_text(errors="replace")
        for name in tracked
        if name != "tests/test_repository.py"  # its own examples below
    }
    assert naming_build_paths(texts, build_machine_roots()) == []


def test_a_path_of_this_machine_is_caught() -> None:
    texts = {"Makefile": "VENV := /work/wt-redesign/.venv", "Dockerfile": "WORKDIR /opt/pi"}
    assert naming_build_paths(texts, build_machine_roots(Path("/work/main"))) == [
        "Makefile: /work/"
    ]
    # A clone in /tmp flags its own path, not every /tmp/ a test or benchmark mentions.
    texts["BENCHMARKS.md"] = "CLOUDAGENT_OUTDIR=/tmp/a; cd /tmp/ci.x1/stacks"
    assert naming_build_paths(texts, build_machine_roots(Path("/tmp/ci.x1"))) == [
        "BENCHMARKS.md: /tmp/ci.x1"
    ]
