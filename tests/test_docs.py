"""The documents name only what exists: tests, planted violations, commands, sections.

docs/ARCHITECTURE.md says, for every guarantee, what checks it and which test proves it (§6.1,
and prose elsewhere). A name there is a promise: each test file it names exists, each test
function it names exists in the file named before it in the same statement (a table row, a
paragraph or a list item; anywhere under tests/ when no file precedes it) and asserts something
(its body holds an `assert` or a call: `pytest.raises`, a checking helper), and each planted
violation (`plant `name``) is a `Plant` of tests/support/planting.py. The README's commands
name real make targets and `devtools.run` flags, and its links land on real headings.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from functools import cache

import pytest

from toolchain.paths import PROJECT_ROOT

ARCHITECTURE = PROJECT_ROOT / "docs" / "ARCHITECTURE.md"
README = PROJECT_ROOT / "README.md"
PLANTING = "tests/support/planting.py"
README_MAX_LINES = 200

# A test file (optionally `file::function`), a test function, or a list of planted violations.
NAME = re.compile(
    r"`(?P<file>tests/[\w/.-]+\.py)(?:::(?P<qualified>test_\w+))?`"
    r"|`(?P<function>test_\w+)`"
    r"|\bplants? (?P<plants>`[\w*]+`(?:(?:,| and|, and) `[\w*]+`)*)"
)
PLANT = re.compile(r"\bPlant\(\s*\"(\w+)\"")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def tree_sources() -> dict[str, str]:
    """Every Python file under tests/, by path relative to the project (the real tree)."""
    return {
        str(path.relative_to(PROJECT_ROOT)): path.read_text()
        for path in sorted((PROJECT_ROOT / "tests").rglob("*.py"))
    }


def statements(doc: str) -> Iterator[str]:
    """Table rows, list items and paragraphs, outside code blocks: the units a name lives in."""
    block: list[str] = []
    for line in FENCE.sub("", doc).splitlines():
        starts = line.startswith(("|", "- ", "#")) or not line.strip()
        if starts and block:
            yield " ".join(block)
            block = []
        if line.strip():
            block.append(line.strip())
    if block:
        yield " ".join(block)


@cache
def _functions(source: str) -> dict[str, bool]:
    """{function name: does its body assert or call something} for one module's source."""
    found: dict[str, bool] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = [n for stmt in node.body for n in ast.walk(stmt)]
            found[node.name] = any(isinstance(n, ast.Assert | ast.Call) for n in body)
    return found


def _check_function(where: str, file: str | None, name: str, sources: Mapping[str, str]) -> str:
    """'' when `name` exists (in `file`, or anywhere under tests/) and asserts; else why not."""
    files = [file] if file else [f for f in sources if f.rsplit("/", 1)[-1].startswith("test_")]
    asserting = [_functions(sources[f]).get(name) for f in files if f in sources]
    if True in asserting:
        return ""
    if False in asserting:
        return f"{where}: {name} asserts nothing (no assert, no call)"
    return f"{where}: {file or 'no test file'} has no {name}"


def problems(doc: str, sources: Mapping[str, str]) -> list[str]:
    """What `doc` names that does not exist or asserts nothing; [] when every name holds."""
    plants = set(PLANT.findall(sources.get(PLANTING, "")))
    found: list[str] = []
    for statement in statements(doc):
        where = statement[:60]
        file: str | None = None
        for match in NAME.finditer(statement):
            if match["file"]:
                file = match["file"]
                if file not in sources:
                    found.append(f"{where}: no file {file}")
                elif not _functions(sources[file]):
                    found.append(f"{where}: {file} defines no test")
                if match["qualified"]:
                    found.append(_check_function(where, file, match["qualified"], sources))
            elif match["function"]:
                found.append(_check_function(where, file, match["function"], sources))
            else:
                for plant in re.findall(r"`([\w*]+)`", match["plants"]):
                    if not any(fnmatchcase(p, plant) for p in plants):
                        found.append(f"{where}: {PLANTING} has no Plant {plant!r}")
    return [problem for problem in found if problem]


def section(doc: str, number: str) -> str:
    """The text of `## n.` (or `## Title`) or `### n.m` up to the next heading as high."""
    level = "###" if re.fullmatch(r"\d+\.\d+", number) else "##"
    start = re.search(rf"^{level} {re.escape(number)}\b", doc, re.M)
    assert start, f"no section {number}"
    end = re.compile(rf"^#{{2,{len(level)}}} ", re.M).search(doc, start.end())
    return doc[start.start() : end.start() if end else len(doc)]


def test_every_test_and_plant_the_architecture_names_exists_and_asserts() -> None:
    assert problems(ARCHITECTURE.read_text(), tree_sources()) == []


def test_every_guarantee_names_what_proves_it() -> None:
    table = section(ARCHITECTURE.read_text(), "6.1")
    rows = [r for r in table.splitlines() if re.match(r"\| \d+ \|", r)]
    assert len(rows) >= 30, "the guarantees table is where §6.1 says"
    unproved = [row[:60] for row in rows if not NAME.search(row.rsplit("|", 2)[-2])]
    assert unproved == [], "each guarantee's last cell names a test file, a test or a plant"


def test_the_checker_reports_what_does_not_exist() -> None:
    """Fed a table naming things that are not there, the checker names each one."""
    sources = {
        "tests/test_real.py": "def test_checks():\n    assert 1\n\ndef test_idle():\n    pass\n",
        PLANTING: 'PLANTS = (Plant("real_plant", "CKV_CA_1"),)\n',
    }
    doc = (
        "| # | guarantee | proved by |\n|---|---|---|\n"
        "| 1 | fine | `tests/test_real.py` (`test_checks`); plant `real_plant` |\n"
        "| 2 | a test that is not there | `tests/test_real.py` (`test_no_such_test`) |\n"
        "| 3 | a file that is not there | `tests/test_gone.py` |\n"
        "| 4 | a test that checks nothing | `tests/test_real.py::test_idle` |\n"
        "| 5 | a violation never planted | plants `real_plant`, `imagined_plant` |\n"
    )
    found = problems(doc, sources)
    assert len(found) == 4, found
    assert "has no test_no_such_test" in found[0]
    assert "no file tests/test_gone.py" in found[1]
    assert "test_idle asserts nothing" in found[2]
    assert "no Plant 'imagined_plant'" in found[3]
    assert problems(doc.split("| 2 |")[0], sources) == []


def test_the_readme_is_a_front_door() -> None:
    readme = README.read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert "```mermaid" in readme, "one picture of the workspaces and the run path"
    assert "settings:begin" not in readme and "cost:begin" not in readme, "generated: in docs/"
    block = re.search(r"```sh\n(.*?)```", section(readme, "Five minutes"), re.S)
    assert block, "the five-minute path is one block a newcomer can paste"
    steps = [line.split()[0:2] for line in block[1].splitlines()]
    assert steps == [
        ["make", "synth"],
        ["make", "up"],
        [".venv/bin/python", "-m"],
        ["make", "down"],
    ]
    assert "-m devtools.run " in block[1]


def test_the_readme_names_real_make_targets_and_run_flags() -> None:
    readme = README.read_text()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    assert set(re.findall(r"\bmake ([a-z]+)\b", readme)) - targets == set()
    run = (PROJECT_ROOT / "devtools" / "run.py").read_text()
    five_minutes = section(readme, "Five minutes")
    commands = [line for line in five_minutes.splitlines() if "devtools.run " in line]
    flags = set(re.findall(r"`(--[a-z-]+)", five_minutes))  # the flags the prose explains
    flags |= {f for line in commands for f in re.findall(r"(?<![\w-])(--[a-z-]+)", line)}
    assert flags and {f for f in flags if f'"{f}"' not in run} == set()


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("document", ["README.md", "docs/OPERATIONS.md", "docs/SETTINGS.md"])
def test_links_into_the_docs_land_on_headings(document: str) -> None:
    text = (PROJECT_ROOT / document).read_text()
    base = (PROJECT_ROOT / document).parent
    broken = []
    for target, anchor in re.findall(r"\]\(([\w./-]+\.md)(?:#([\w-]+))?\)", text):
        path = (base / target).resolve()
        if not path.exists():
            broken.append(target)
        elif anchor:
            headings = re.findall(r"^#+ (.+)$", FENCE.sub("", path.read_text()), re.M)
            if anchor not in {_anchor(h) for h in headings}:
                broken.append(f"{target}#{anchor}")
    assert broken == []
