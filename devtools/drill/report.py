"""The drills' section of BENCHMARKS.md, rewritten by `python -m devtools.drill --write-benchmarks`.

Only the text between the two markers is the drills' own: the prose around it (what each drill
proves, how it is run) is written by hand and stays. Without the markers the section is added
at the end of the file, markers and all.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from devtools.drill.context import DrillReport
from toolchain.paths import PROJECT_ROOT

BENCHMARKS = PROJECT_ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- drill:begin -->", "<!-- drill:end -->"
HEADING = "## Reliability drills (`make drill`)"


def table(reports: list[DrillReport], *, short: bool, when: str | None = None) -> str:
    """The markdown the markers enclose: when and how measured, then one row per drill."""
    when = when or time.strftime("%Y-%m-%d", time.gmtime())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    form = "short" if short else "long"
    rows = [
        f"Last run {when}, {form} forms, load ≈ {load:.1f} at the end "
        f"(`python -m devtools.drill{' --short' if short else ''} --write-benchmarks`).",
        "",
        "| drill | verdict | figures | seconds |",
        "|---|---|---|---:|",
    ]
    for report in reports:
        figures = ", ".join(f"{k} {v}" for k, v in report.figures.items())
        verdict = "pass" if report.passed else "FAIL: " + "; ".join(report.problems[:3])
        rows.append(f"| {report.name} | {verdict} | {figures} | {report.seconds:.1f} |")
    passed = sum(r.passed for r in reports)
    rows += ["", f"Drills passed: {passed} of {len(reports)}."]
    return "\n".join(rows)


def rewrite(text: str, body: str) -> str:
    """`text` with the markers' content replaced by `body` (the section appended if absent)."""
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end == -1 or end < start:
        return text.rstrip("\n") + f"\n\n{HEADING}\n\n{BEGIN}\n{body}\n{END}\n"
    return text[: start + len(BEGIN)] + "\n" + body + "\n" + text[end:]


def write_benchmarks(reports: list[DrillReport], *, short: bool, path: Path = BENCHMARKS) -> Path:
    """Rewrite the drills' rows in BENCHMARKS.md; the path written."""
    path.write_text(rewrite(path.read_text(), table(reports, short=short)))
    return path
