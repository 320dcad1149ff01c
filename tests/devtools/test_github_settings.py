"""The workflows' settings step forwards every setting and refuses what is not one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devtools.github_settings import settings_environment
from stacks.shared.setting_loader import SettingsError, load_settings, specs
from toolchain.paths import PROJECT_ROOT


def test_every_setting_variable_is_forwarded() -> None:
    variables = {spec.env_var: f"value-{spec.name}" for spec in specs()}
    assert settings_environment(variables, "org/repo") == variables


def test_the_repository_is_the_default_github_repo() -> None:
    assert settings_environment({}, "my-org/agents") == {"CLOUDAGENT_GITHUB_REPO": "my-org/agents"}
    pinned = {"CLOUDAGENT_GITHUB_REPO": "my-org/other"}
    assert settings_environment(pinned, "my-org/agents") == pinned


def test_the_running_repositorys_id_is_pinned() -> None:
    assert settings_environment({}, "my-org/agents", "42") == {
        "CLOUDAGENT_GITHUB_REPO": "my-org/agents",
        "CLOUDAGENT_GITHUB_REPOSITORY_ID": "42",
    }
    same = {"CLOUDAGENT_GITHUB_REPOSITORY_ID": "42"}
    assert (
        settings_environment(same, "my-org/agents", "42")["CLOUDAGENT_GITHUB_REPOSITORY_ID"] == "42"
    )
    # Another repository named by a variable: the running one's id is not its id.
    other = {"CLOUDAGENT_GITHUB_REPO": "my-org/other"}
    assert settings_environment(other, "my-org/agents", "42") == other


def test_a_pinned_id_of_another_repository_is_refused() -> None:
    """The variable pins the id of the repository that was; this one is a re-creation."""
    with pytest.raises(SettingsError, match="re-created"):
        settings_environment({"CLOUDAGENT_GITHUB_REPOSITORY_ID": "41"}, "my-org/agents", "42")


def test_unknown_variable_and_multiline_value_are_refused() -> None:
    with pytest.raises(SettingsError, match="CLOUDAGENT_NAT_GATEWAYS"):
        settings_environment({"CLOUDAGENT_NAT_GATEWAYS": "2"}, None)
    with pytest.raises(SettingsError, match="one line"):
        settings_environment({"CLOUDAGENT_ENV_NAME": "dev\nCLOUDAGENT_X=1"}, None)


def test_what_the_step_writes_is_what_synth_reads() -> None:
    variables = {
        "CLOUDAGENT_MAX_CONCURRENT_RUNS": "7",
        "CLOUDAGENT_AGENT_IMAGE_TAG": "abc123",
        "CLOUDAGENT_PLAN_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
        "OTHER": "ignored",
    }
    result = subprocess.run(
        [sys.executable, "-m", "devtools.github_settings"],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "VARS_JSON": json.dumps(variables),
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_REPOSITORY_ID": "4242",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    written = dict(line.split("=", 1) for line in result.stdout.splitlines())
    settings = load_settings(environ=written)
    assert (settings.max_concurrent_runs, settings.agent_image_tag) == (7, "abc123")
    assert (settings.github_repo, settings.github_repository_id) == ("o/r", "4242")
