"""How a setting is declared: `setting(...)` on a field of `Settings`, and the checks it takes.

A declaration carries everything about one setting — default, accepted form, meaning, check and
where it flows — so the settings table (docs/SETTINGS.md), the workflows and the control
Lambda's limits can all be derived from it (`SettingSpec`).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, get_type_hints

ENV_PREFIX = "CLOUDAGENT_"


@dataclass(frozen=True)
class Range:
    """An inclusive whole-number range; the control Lambda checks its values against it too."""

    lo: int
    hi: int

    def __call__(self, value: int) -> bool:
        return self.lo <= value <= self.hi


@dataclass(frozen=True)
class DecimalRange:
    """An inclusive range of amounts in US dollars, to the cent; the control Lambda checks it too.

    A finite number only (NaN compares false with everything and infinity is no amount), with
    at most `places` decimals, so the text the Lambda and the model proxy parse is exact.
    """

    lo: float
    hi: float
    places: int = 2

    def __call__(self, value: float) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value):
            return False
        _, _, decimals = decimal_text(value).partition(".")
        return len(decimals) <= self.places and self.lo <= value <= self.hi


def decimal_text(value: float) -> str:
    """A decimal as the environment carries it: exact (repr), without a trailing `.0`."""
    text = repr(float(value))
    return text.removesuffix(".0")


def matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: bool(compiled.fullmatch(value))


@dataclass(frozen=True)
class OneOf:
    """One of a few words; the control Lambda's environment contract reads them too."""

    choices: tuple[Any, ...]

    def __call__(self, value: Any) -> bool:
        return value in self.choices


def one_of(*choices: Any) -> OneOf:
    return OneOf(choices)


def ipv4_cidr(lo: int, hi: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            return False
        return lo <= network.prefixlen <= hi

    return check


_DOMAIN = r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"


def domain_list(*, allow_empty: bool) -> Callable[[str], bool]:
    """A comma list of DNS names, each `example.com` or `*.example.com` (lowercase)."""
    entry = re.compile(_DOMAIN)

    def check(value: str) -> bool:
        if value == "":
            return allow_empty
        names = value.split(",")
        return len(names) == len(set(names)) and all(entry.fullmatch(n) for n in names)

    return check


def setting(
    default: Any,
    *,
    accepted: str,
    help: str,
    check: Callable[[Any], bool],
    lambda_env: str | None = None,
) -> Any:
    """Declare one setting: its default, accepted form, meaning and check, in one place.

    `lambda_env` names the control Lambda's environment variable the value also flows into
    (as is, or as part of a derived value such as the OIDC subject); `None`: synth only.
    """
    return field(
        default=default,
        metadata={"accepted": accepted, "help": help, "check": check, "lambda_env": lambda_env},
    )


@dataclass(frozen=True)
class SettingSpec:
    """A setting's declaration as the tooling reads it (docs, workflows, Lambda limits)."""

    name: str
    type: type
    default: Any
    accepted: str
    help: str
    check: Callable[[Any], bool]
    lambda_env: str | None

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _base_type(hint: Any) -> type:
    """`str | None` -> str; the types settings use are str, int, float and bool."""
    for candidate in (bool, int, float, str):
        if hint is candidate or candidate in getattr(hint, "__args__", ()):
            return candidate
    raise TypeError(f"unsupported setting type {hint!r}")


def specs_of(settings_class: type) -> tuple[SettingSpec, ...]:
    """Every setting's declaration in a settings class, in declaration order."""
    hints = get_type_hints(settings_class)
    return tuple(
        SettingSpec(
            name=f.name,
            type=_base_type(hints[f.name]),
            default=None if f.default is MISSING else f.default,
            accepted=f.metadata["accepted"],
            help=f.metadata["help"],
            check=f.metadata["check"],
            lambda_env=f.metadata["lambda_env"],
        )
        for f in fields(settings_class)
    )
