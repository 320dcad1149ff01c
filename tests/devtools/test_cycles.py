"""The cycles drill's arithmetic and arguments (the cycles themselves are `make drill`'s)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devtools.drill import cycles
from devtools.drill.cycles import Cycle, Summary, parse_args, percentile


def test_percentile_is_a_measured_value_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile(values, 100) == 20.0
    assert percentile([7.5], 95) == 7.5
    assert percentile([], 50) == 0.0


def test_summary_counts_failures_and_times_only_passed_ups() -> None:
    summary = Summary([Cycle(1, 100.0, 20.0), Cycle(2, 110.0, 21.0), Cycle(3, 5.0, 9.0, "boom")])
    assert (summary.passed, summary.failed) == (2, 1)
    assert summary.up_percentile(50) == 100.0  # the failed 5 s up is not a make-up time
    assert summary.line() == ("cycles: 2 passed, 1 failed of 3; make up p50 100.0s p95 110.0s")


def test_arguments() -> None:
    assert parse_args([]).cycles == 20
    assert parse_args(["--cycles", "3"]).cycles == 3
    with pytest.raises(SystemExit):
        parse_args(["--cycles", "0"])


def test_stops_at_the_first_failure_and_still_runs_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed up ends the drill after its down; the failure carries the output's tail."""
    calls: list[str] = []

    def fake_step(module: str, local_dir: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
        calls.append(module)
        failing = module == "devtools.local.up" and calls.count(module) == 2
        return 1.0, subprocess.CompletedProcess([], 1 if failing else 0, "out\nlast line", "")

    (tmp_path / "moto.log").write_text("ok\nretried CreateStage attempt=2\n")
    monkeypatch.setattr(cycles, "_step", fake_step)
    lines: list[str] = []
    summary = cycles.run_cycles(5, tmp_path, out=lines.append)
    assert calls == ["devtools.local.up", "devtools.local.down"] * 2
    assert (summary.passed, summary.failed) == (1, 1)
    failure = summary.cycles[-1].failure or ""
    assert "make up exited 1" in failure and "last line" in failure
    assert "retried CreateStage" in failure
    assert lines[-2].endswith("FAIL")
