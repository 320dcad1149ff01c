"""`python -m devtools.drill`: its arguments, the order drills run in, skips, the exit code, and
the BENCHMARKS section it rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.drill import __main__ as cli
from devtools.drill import report
from devtools.drill.context import DrillReport


def test_arguments() -> None:
    args = cli.parse_args(["--short", "--only", "soak", "--only", "burst"])
    assert args.short and args.only == ["soak", "burst"] and not args.write_benchmarks
    assert cli.selected(args.only) == ["burst", "soak"]  # DRILLS' order, not the command's
    assert cli.selected(None) == ["burst", "idempotency", "events", "kills", "soak"]
    with pytest.raises(SystemExit):
        cli.parse_args(["--only", "nonsense"])


def test_a_missing_module_is_skipped_and_a_present_one_loads(monkeypatch) -> None:
    monkeypatch.setitem(cli.DRILLS, "ghost", ("no_such_drill_module", "run"))
    assert cli.load("ghost") is None
    assert cli.load("burst") is not None and cli.load("idempotency") is not None


def test_a_drill_that_raises_is_a_failure_and_the_exit_code_says_so(monkeypatch, capsys) -> None:
    def good(ctx, *, short):
        return DrillReport.of("burst", {"accepted": 5}, [])

    def broken(ctx, *, short):
        raise RuntimeError("boom")

    drills = {"burst": good, "soak": broken}
    monkeypatch.setattr(cli, "load", lambda name: drills.get(name))
    monkeypatch.setattr(cli.DrillContext, "from_env", classmethod(lambda cls: None))
    assert cli.main(["--short"]) == 1
    out = capsys.readouterr().out
    assert "burst        PASS  accepted=5" in out
    assert "idempotency  SKIP" in out
    assert "soak         FAIL" in out and "RuntimeError('boom')" in out
    assert "drills: 1 passed, 1 failed" in out
    assert cli.main(["--only", "burst"]) == 0


def test_benchmarks_section_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    reports = [
        DrillReport.of("burst", {"accepted": 5, "refused": 35}, [], 4.2),
        DrillReport.of("soak", {"runs": 200}, ["the counter is 1 at the end, not 0"], 90),
    ]
    body = report.table(reports, short=False, when="2026-12-02")
    assert "| burst | pass | accepted 5, refused 35 | 4.2 |" in body
    assert "| soak | FAIL: the counter is 1 at the end, not 0 | runs 200 | 90.0 |" in body
    assert "Drills passed: 1 of 2." in body
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n## Other\n\ntext\n")
    report.write_benchmarks(reports, short=True, path=path)
    first = path.read_text()
    assert first.startswith("# Benchmarks\n\n## Other\n\ntext\n\n" + report.HEADING)
    path.write_text(first.replace("## Other", "## Other (edited)") + "\n## After\n")
    report.write_benchmarks(reports[:1], short=True, path=path)
    second = path.read_text()
    assert second.count(report.BEGIN) == 1 and "## After" in second
    assert "## Other (edited)" in second and "Drills passed: 1 of 1." in second
