"""Reading the settings: cdktf.json context, then `CLOUDAGENT_*` overrides, each value checked.

A bad value, or a `CLOUDAGENT_*` variable that is neither a setting nor listed in
`OTHER_VARIABLES`, stops synth with one line that names it and the accepted form.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any, NoReturn

from stacks.shared.artifacts import artifact_bucket_name_problem
from stacks.shared.constants import LOCAL_GITHUB_REPO
from stacks.shared.other_variables import OTHER_VARIABLES
from stacks.shared.setting_fields import ENV_PREFIX, SettingSpec, specs_of
from stacks.shared.settings import Settings
from toolchain.paths import PROJECT_ROOT

CDKTF_JSON = PROJECT_ROOT / "cdktf.json"


class SettingsError(ValueError):
    """A setting is invalid; the message is one line naming the setting and the accepted form."""


def env_var_for(setting_name: str) -> str:
    return ENV_PREFIX + setting_name.upper()


def _fail(spec: SettingSpec, value: object, accepted: str | None = None) -> NoReturn:
    raise SettingsError(
        f"setting '{spec.name}' ({spec.env_var}): {value!r} is invalid; "
        f"expected {accepted or spec.accepted}"
    )


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(spec: SettingSpec, raw: Any) -> Any:
    """A raw context or environment value as the setting's type (strings are stripped)."""
    if spec.default is None and isinstance(raw, str) and raw.strip() == "":
        return None  # an optional setting given as empty means unset
    if spec.type is bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word not in _BOOLEANS:
            _fail(spec, raw)
        return _BOOLEANS[word]
    if spec.type is int:
        if isinstance(raw, bool):
            _fail(spec, raw, "a whole number")
        if isinstance(raw, int):
            return raw
        try:
            return int(str(raw).strip())
        except ValueError:
            _fail(spec, raw, "a whole number")
    if spec.type is float:
        return _decimal(spec, raw)
    if not isinstance(raw, str):
        _fail(spec, raw, "a string")
    return raw.strip()


def _decimal(spec: SettingSpec, raw: Any) -> float:
    """A decimal number from context (a JSON number) or the environment (its text)."""
    if isinstance(raw, bool):
        _fail(spec, raw, "a decimal number")
    if isinstance(raw, int | float):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        _fail(spec, raw, "a decimal number")


def validate(settings: Settings) -> Settings:
    """Refuse the first bad value with a message that names it."""
    for spec in specs():
        value = getattr(settings, spec.name)
        if not spec.check(value):
            _fail(spec, value)
    # A deployment (any repository but the local placeholder) pins the repository's id, so a
    # repository deleted and re-created under the same name is not trusted by the API.
    if settings.github_repo != LOCAL_GITHUB_REPO and not settings.github_repository_id:
        spec = next(s for s in specs() if s.name == "github_repository_id")
        raise SettingsError(
            f"setting '{spec.name}' ({spec.env_var}) is required with github_repo "
            f"{settings.github_repo!r}: the repository's numeric id "
            f"(gh api repos/{settings.github_repo} --jq .id)"
        )
    # Names made of several settings: the artifact bucket's must fit S3's 63 characters.
    problem = artifact_bucket_name_problem(settings)
    if problem:
        spec = next(s for s in specs() if s.name == "env_name")
        raise SettingsError(f"setting '{spec.name}' ({spec.env_var}): {problem}")
    return settings


def closest(name: str, candidates: list[str]) -> str:
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.0)
    return match[0] if match else candidates[0]


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse a CLOUDAGENT_* variable that is neither a setting nor a documented variable."""
    known = [spec.env_var for spec in specs()] + list(OTHER_VARIABLES)
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            raise SettingsError(
                f"environment variable {name} is not a setting; did you mean "
                f"{closest(name, known)}? (settings: docs/SETTINGS.md)"
            )


def load_settings(
    context: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build validated settings from cdktf.json context, then CLOUDAGENT_* overrides."""
    import os

    if context is None:
        context = json.loads(CDKTF_JSON.read_text()).get("context", {})
    environ = os.environ if environ is None else environ
    check_environment(environ)
    declared = {spec.name: spec for spec in specs()}
    unknown = sorted(k for k in context if k not in declared and not k.startswith("cdktf"))
    if unknown:
        raise SettingsError(
            f"cdktf.json context: unknown setting '{unknown[0]}'; did you mean "
            f"'{closest(unknown[0], list(declared))}'?"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        raw = environ.get(spec.env_var, context.get(name))
        if raw is not None:
            values[name] = _coerce(spec, raw)
    return validate(Settings(**values))


def specs() -> tuple[SettingSpec, ...]:
    """Every setting's declaration, in declaration order."""
    return specs_of(Settings)
