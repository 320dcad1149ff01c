"""A pytest plugin: image tests that could not run are never a quiet skip.

Tests that need buildah skip with a reason starting with IMAGE_SKIP. `make test` installs
buildah first (`devtools/system_packages.sh`); where it could not, the script writes why to
SYSTEM_PACKAGES_REPORT, and this plugin repeats it in the run's last lines. Under CI=true such a
skip is reported as a failure: CI must build and run the image, not skip it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

IMAGE_SKIP = "image tests skipped"
SYSTEM_PACKAGES_REPORT = Path(
    os.environ.get("SYSTEM_PACKAGES_REPORT")
    or Path(__file__).resolve().parents[2] / ".build" / "system-packages.missing"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Under CI=true a skipped image test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") != "true" or not report.skipped:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if IMAGE_SKIP in reason:
        report.outcome = "failed"
        report.longrepr = f"CI=true, and this image test was skipped: {reason}"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config):
    """The last lines say when the image tests did not run, and why (not root, no apt-get).

    Outermost wrapper, so the line comes after the short summary, just above the totals.
    """
    yield
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if IMAGE_SKIP in str(r.longrepr)
    ]
    if not skipped:
        return
    why = SYSTEM_PACKAGES_REPORT.read_text().strip() if SYSTEM_PACKAGES_REPORT.exists() else ""
    terminalreporter.write_line(
        f"NOT RUN: {len(skipped)} image tests (the agent image was not built or run). "
        f"{why or 'Install buildah and debootstrap (apt-get, as root) and run make test again.'}",
        red=True,
    )
