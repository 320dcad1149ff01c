"""Each `make up` has its own working container, so one `make down` cannot kill another's tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.local.runner.container import Launcher
from devtools.local.runner.mode import WORKING_CONTAINER_PREFIX, working_container_for


def test_two_deployments_get_two_working_containers(tmp_path: Path) -> None:
    one, two = tmp_path / "a" / ".local", tmp_path / "b" / ".local"
    assert working_container_for(one) != working_container_for(two)
    assert working_container_for(one) == working_container_for(one / ".." / ".local")
    assert working_container_for(one).startswith(f"{WORKING_CONTAINER_PREFIX}-")


def test_the_runner_uses_its_own_deployments_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner knows its tasks directory (`<.local>/tasks`); `make down` knows `.local`."""
    monkeypatch.setattr(Launcher, "_working_container", lambda self: None)
    root = tmp_path / ".local"
    launcher = Launcher(root / "tasks", root / "repos", None, "image")
    assert launcher.working_container == working_container_for(root)
