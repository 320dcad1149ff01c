"""Every bad setting stops synth with one line that names it and the accepted form."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import fields

import pytest

from devtools import docs
from stacks.shared.github_subjects import (
    Trusted,
    api_workflow_refs,
    default_ref,
    environment_subject,
    role_trust,
)
from stacks.shared.lambda_contract import DECLARED, contract_json
from stacks.shared.other_variables import OTHER_VARIABLES
from stacks.shared.setting_loader import CDKTF_JSON, SettingsError, load_settings, specs
from stacks.shared.settings import Settings
from toolchain.paths import PROJECT_ROOT

CONTEXT = json.loads(CDKTF_JSON.read_text())["context"]

BAD_VALUES = [
    ("github_repo", "cloudagent", "ORG/REPO"),
    ("github_repo", "org/repo/extra", "ORG/REPO"),
    ("github_repo", "org/*", "ORG/REPO"),
    ("region", "us-east", "AWS region"),
    ("region", "US-EAST-1", "AWS region"),
    ("vpc_cidr", "10.0.0.0/27", "/16 to /26"),
    ("vpc_cidr", "10.0.0.0/8", "/16 to /26"),
    ("vpc_cidr", "10.0.0.1/16", "IPv4 CIDR"),
    ("vpc_cidr", "not-a-cidr", "IPv4 CIDR"),
    ("nat_gateway_count", "0", "1 (one shared NAT gateway) or 2"),
    ("nat_gateway_count", "3", "1 (one shared NAT gateway) or 2"),
    ("nat_gateway_count", "two", "whole number"),
    ("env_name", "Prod", "lowercase"),
    ("env_name", "dev_1", "lowercase"),
    ("env_name", "-dev", "lowercase"),
    ("env_name", "dev-eu", "lowercase letters or digits"),
    ("env_name", "a-very-long-environment-name", "1-16"),
    ("github_environment", "prod env", "GitHub environment"),
    ("state_bucket", "My_Bucket", "S3 bucket name"),
    ("agent_image_tag", "v1:latest", "Docker tag"),
    ("agent_architecture", "arm", "X86_64 or ARM64"),
    ("max_concurrent_runs", "0", "1 to 100"),
    ("max_concurrent_runs", "101", "1 to 100"),
    ("api_reserved_concurrency", "0", "1 to 1000"),
    ("api_oidc_audience", "a b", "without spaces or commas"),
    ("api_oidc_audience", "a,b", "without spaces or commas"),
    ("network_mode", "private", "public or nat"),
    ("egress_mode", "block", "enforce, observe or off"),
    ("egress_allow_domains", "", "comma list of lowercase domains"),
    ("egress_allow_domains", "GitHub.com", "comma list of lowercase domains"),
    ("egress_allow_domains", "*.*.com", "comma list of lowercase domains"),
    ("egress_allow_domains", "github.com,github.com", "comma list of lowercase domains"),
    ("egress_allow_domains", "github.com,,pypi.org", "comma list of lowercase domains"),
    ("egress_allow_domains", "localhost", "comma list of lowercase domains"),
    ("egress_run_domains_allowed", "example.com/path", "empty (no per-run additions)"),
    ("capacity", "spot-only", "on-demand, spot or spot-then-on-demand"),
    ("max_run_cost_usd", "0", "from 0.01 to 1000"),
    ("max_run_cost_usd", "-5", "from 0.01 to 1000"),
    ("max_run_cost_usd", "1000.01", "from 0.01 to 1000"),
    ("max_run_cost_usd", "nan", "from 0.01 to 1000"),
    ("max_run_cost_usd", "inf", "from 0.01 to 1000"),
    ("max_run_cost_usd", "25 USD", "a decimal number"),
    ("max_run_cost_usd", "2.505", "at most 2 decimals"),
    ("artifact_retention_days", "0", "from 1 to 365"),
    ("artifact_retention_days", "366", "from 1 to 365"),
    ("artifact_retention_days", "30d", "whole number"),
]


def test_defaults_are_valid() -> None:
    """cdktf.json ships the same local defaults the code documents."""
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.github_subject_template == "workflow"
    assert settings.state_key("agent") == "cloudagent/dev/agent.tfstate"


@pytest.mark.parametrize(("name", "value", "accepted"), BAD_VALUES)
def test_bad_value_from_environment_is_refused(name: str, value: str, accepted: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(environ={f"CLOUDAGENT_{name.upper()}": value})
    message = str(error.value)
    assert f"setting '{name}'" in message
    assert f"CLOUDAGENT_{name.upper()}" in message
    assert accepted in message
    assert "\n" not in message


@pytest.mark.parametrize(("name", "value", "accepted"), BAD_VALUES[:6])
def test_bad_value_from_context_is_refused(name: str, value: str, accepted: str) -> None:
    with pytest.raises(SettingsError, match=f"setting '{name}'"):
        load_settings(context={**CONTEXT, name: value}, environ={})


def test_environment_overrides_context() -> None:
    settings = load_settings(
        environ={"CLOUDAGENT_ENV_NAME": "prod", "CLOUDAGENT_NAT_GATEWAY_COUNT": "2"}
    )
    assert (settings.env_name, settings.nat_gateway_count) == ("prod", 2)
    assert settings.prefix == "cloudagent-prod"


def test_empty_state_bucket_means_local_state() -> None:
    assert load_settings(environ={"CLOUDAGENT_STATE_BUCKET": ""}).state_bucket is None


def test_a_deployed_repository_needs_its_id() -> None:
    """Any repository but the local placeholder is a deployment: its id is pinned, so a
    repository re-created under the same name is not trusted by the API."""
    repo = {"CLOUDAGENT_GITHUB_REPO": "my-org/agents"}
    with pytest.raises(SettingsError, match=r"setting 'github_repository_id' .* is required"):
        load_settings(environ=repo)
    pinned = load_settings(environ={**repo, "CLOUDAGENT_GITHUB_REPOSITORY_ID": "42"})
    assert pinned.github_repository_id == "42"
    assert load_settings(environ={}).github_repository_id == ""  # make synth's local defaults


def test_the_api_trusts_run_agent_on_the_default_branch() -> None:
    settings = load_settings(
        environ={
            "CLOUDAGENT_GITHUB_REPO": "my-org/agents",
            "CLOUDAGENT_GITHUB_REPOSITORY_ID": "42",
            "CLOUDAGENT_GITHUB_DEFAULT_BRANCH": "trunk",
        }
    )
    assert default_ref(settings) == "refs/heads/trunk"
    assert api_workflow_refs(settings) == [
        "my-org/agents/.github/workflows/run-agent.yml@refs/heads/trunk"
    ]
    for bad in ("", "-x", "a b", "refs/heads/*", "x" * 101):
        with pytest.raises(SettingsError, match="github_default_branch"):
            load_settings(environ={"CLOUDAGENT_GITHUB_DEFAULT_BRANCH": bad})


def test_each_role_trusts_its_own_workflow_on_the_default_branch() -> None:
    settings = load_settings(environ={})
    env = "repo:org/cloudagent:environment:dev:job_workflow_ref:org/cloudagent/.github/workflows"
    assert role_trust(settings, "deploy") == Trusted(
        "StringEquals", f"{env}/apply-stack.yml@refs/heads/main"
    )
    assert role_trust(settings, "image").subject == f"{env}/image.yml@refs/heads/main"
    assert role_trust(settings, "admin").subject == f"{env}/admin.yml@refs/heads/main"
    assert environment_subject(settings, "api") == f"{env}/run-agent.yml@refs/heads/main"
    assert role_trust(settings, "plan") == Trusted(
        "StringLike",
        "repo:org/cloudagent:pull_request:job_workflow_ref:"
        "org/cloudagent/.github/workflows/plan.yml@refs/pull/*/merge",
    )
    default = load_settings(environ={"CLOUDAGENT_GITHUB_SUBJECT_TEMPLATE": "default"})
    assert role_trust(default, "deploy").subject == "repo:org/cloudagent:environment:dev"
    assert role_trust(default, "plan") == Trusted(
        "StringEquals", "repo:org/cloudagent:pull_request"
    )


def test_unknown_context_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown setting 'vpc_cdir'"):
        load_settings(context={"vpc_cdir": "10.0.0.0/16"}, environ={})


def test_settings_are_frozen() -> None:
    settings = load_settings(environ={})
    with pytest.raises(AttributeError):
        settings.env_name = "prod"  # type: ignore[misc]


def test_synth_stops_with_one_line_naming_the_setting(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "main.py"],
        env={
            "CLOUDAGENT_GITHUB_REPO": "not-a-repo",
            "CLOUDAGENT_OUTDIR": str(tmp_path),
            "PATH": "",
        },
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "setting 'github_repo' (CLOUDAGENT_GITHUB_REPO)" in lines[0]
    assert "ORG/REPO" in lines[0]
    assert not (tmp_path / "stacks").exists()


def test_artifacts_are_kept_30_days_by_default_and_up_to_a_year() -> None:
    assert load_settings(environ={}).artifact_retention_days == 30
    for days in ("1", "365"):
        environ = {"CLOUDAGENT_ARTIFACT_RETENTION_DAYS": days}
        assert load_settings(environ=environ).artifact_retention_days == int(days)


def test_api_audience_defaults_to_the_prefix() -> None:
    assert load_settings(environ={}).api_audience == "cloudagent-dev"
    custom = load_settings(environ={"CLOUDAGENT_API_OIDC_AUDIENCE": "https://api.example.com"})
    assert custom.api_audience == "https://api.example.com"


def test_task_hourly_cost_is_about_a_dollar() -> None:
    from stacks.shared.prices import task_hourly_cost_usd

    assert 1.0 < task_hourly_cost_usd("X86_64") < 1.5
    assert task_hourly_cost_usd("ARM64") < task_hourly_cost_usd("X86_64")


# --- One declaration per setting: what derives from it stays in step. ---


@pytest.mark.parametrize(
    ("context", "environ", "expected"),
    [
        ({}, {}, 25.0),
        ({"max_run_cost_usd": 12}, {}, 12.0),  # a JSON number in cdktf.json
        ({"max_run_cost_usd": 12}, {"CLOUDAGENT_MAX_RUN_COST_USD": " 7.5 "}, 7.5),
        ({}, {"CLOUDAGENT_MAX_RUN_COST_USD": "0.01"}, 0.01),
    ],
)
def test_the_spend_cap_is_a_decimal_from_context_or_environment(
    context: dict, environ: dict, expected: float
) -> None:
    assert load_settings(context={**CONTEXT, **context}, environ=environ).max_run_cost_usd == (
        expected
    )


def test_a_boolean_spend_cap_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"setting 'max_run_cost_usd'.*a decimal number"):
        load_settings(context={**CONTEXT, "max_run_cost_usd": True}, environ={})


def test_every_setting_is_declared_with_type_default_range_and_meaning() -> None:
    declared = specs()
    assert [s.name for s in declared] == [f.name for f in fields(Settings)]
    for spec in declared:
        assert spec.type in (str, int, float, bool), spec.name
        assert spec.accepted and spec.help, spec.name
        assert spec.check(spec.default), f"{spec.name}: the default fails its own check"


def test_a_mistyped_cloudagent_variable_stops_synth_naming_the_closest() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(environ={"CLOUDAGENT_MAX_CONCURENT_RUNS": "3"})
    message = str(error.value)
    assert "CLOUDAGENT_MAX_CONCURENT_RUNS is not a setting" in message
    assert "did you mean CLOUDAGENT_MAX_CONCURRENT_RUNS?" in message
    assert "\n" not in message


def test_documented_non_setting_variables_are_accepted() -> None:
    environ = {name: "x" for name in OTHER_VARIABLES}
    assert load_settings(environ=environ) == load_settings(environ={})


def test_every_cloudagent_variable_in_the_repository_is_declared() -> None:
    """A variable the code or workflows use must be a setting or listed in OTHER_VARIABLES."""
    known = {spec.env_var for spec in specs()} | set(OTHER_VARIABLES)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    used: dict[str, str] = {}
    for name in tracked:
        path = PROJECT_ROOT / name
        if path.suffix not in (".py", ".yml", ".md", ".json", "") or not path.is_file():
            continue
        for variable in re.findall(r"\bCLOUDAGENT_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text()):
            used.setdefault(variable, name)
    # A test may spell a deliberately wrong name; those live in tests/.
    unknown = {v: f for v, f in used.items() if v not in known and not f.startswith("tests/")}
    assert not unknown, unknown


def test_settings_table_and_lambda_contract_are_generated_from_the_declarations() -> None:
    assert docs.stale() == [], "run: python -m devtools.docs"
    assert json.loads(docs.lambda_contract_path().read_text()) == json.loads(contract_json())


def test_the_control_lambda_accepts_exactly_the_values_synth_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Lambda cannot import stacks/; it reads the generated contract. One range, one source:
    every variable fed by a setting with a range or words parses exactly what synth accepts."""
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "chalice_api"))
    environment = importlib.import_module("chalicelib.core.environment")
    checked = 0
    for var in DECLARED.values():
        if not var.fed_by.startswith("setting ") or var.rule not in ("int", "usd", "choice"):
            continue
        setting = next(s for s in specs() if s.name == var.fed_by.removeprefix("setting "))
        if var.rule == "int":
            cases = [(var.min, True), (var.max, True), (var.max + 1, False), (var.min - 1, False)]
        elif var.rule == "usd":
            cases = [(var.min, True), (var.max, True), (var.max + 0.01, False), (0.0, False)]
        elif var.choices == tuple(str(c) for c in setting.check.choices):
            cases = [*((c, True) for c in var.choices), ("none-of-these", False)]
        else:  # words derived from the setting (network_mode -> ENABLED/DISABLED)
            continue
        for value, ok in cases:
            assert setting.check(value) is ok, (setting.name, value)
            try:
                environment.read({var.name: str(value)}, var.name)
                accepted = True
            except environment.ConfigError:
                accepted = False
            assert accepted is ok, (var.name, value)
            checked += 1
    assert checked >= 14  # MAX_CONCURRENT_RUNS, MAX_RUN_COST_USD, CAPACITY and EGRESS_MODE
