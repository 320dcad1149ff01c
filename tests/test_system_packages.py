"""A fresh machine's `make test` runs the image tests, or says in its last lines why it could not.

`devtools/system_packages.sh` installs buildah and debootstrap (root, apt-get) and writes why
it could not; `tests/support/image_skips.py` repeats that at the end of the run and turns an
image test's skip into a failure under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from toolchain.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "devtools" / "system_packages.sh"
# An image test that cannot run, as tests/image/test_image_build.py skips it.
SKIPPING_TEST = """
import pytest

@pytest.mark.skipif(True, reason="image tests skipped: buildah is not installed")
def test_builds_the_image():
    pass

def test_something_else():
    pass
"""


def _run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, report: Path, ci: str | None
) -> pytest.RunResult:
    pytester.makepyfile(test_image=SKIPPING_TEST)
    monkeypatch.setenv("SYSTEM_PACKAGES_REPORT", str(report))
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_subprocess("-p", "tests.support.image_skips", "-ra")


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "system-packages.missing"
    path.write_text("the image tests will be skipped: buildah debootstrap not installed: not root")
    return path


def test_a_skipped_image_test_is_said_in_the_last_lines(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, report: Path
) -> None:
    result = _run(pytester, monkeypatch, report, ci=None)
    result.assert_outcomes(passed=1, skipped=1)
    last = result.stdout.lines[-3:]
    assert any("NOT RUN: 1 image tests" in line and "not root" in line for line in last), last


def test_under_ci_a_skipped_image_test_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, report: Path
) -> None:
    result = _run(pytester, monkeypatch, report, ci="true")
    assert result.ret != 0
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1 and "skipped" not in outcomes
    assert outcomes.get("errors", 0) + outcomes.get("failed", 0) == 1
    result.stdout.fnmatch_lines(["*CI=true, and this image test was skipped*"])


def test_without_apt_get_the_script_says_why_and_does_not_fail(tmp_path: Path) -> None:
    """No dpkg/apt-get on PATH: nothing counts as installed, nothing can be; exit 0, reason kept."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "grep", "id", "mkdir", "rm", "tee", "dirname"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    report = tmp_path / "out" / "missing"
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        env={"PATH": str(bin_dir), "SYSTEM_PACKAGES_REPORT": str(report)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "buildah debootstrap not installed: no apt-get on this machine" in report.read_text()
    assert "image tests will be skipped" in proc.stderr
