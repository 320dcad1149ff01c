"""Import `cdktf_cdktf_provider_aws` on demand instead of all 2,213 submodules up front.

Why: the package's `__init__` imports every generated submodule (about 15 s here) before any
`from cdktf_cdktf_provider_aws.vpc import Vpc` can run; a synth needs perhaps 40 of them.
`install()` registers the package module without executing that `__init__` (its only other
content is a `check_type` helper each submodule defines for itself) so submodules import when
first named, and fills jsii's submodule map so a type the JavaScript side returns from a module
Python has not imported yet still resolves (jsii imports that module on demand).

This leans on jsii internals (`jsii._reference_map._submodule_fqn_map`, present since the
lazy-loading support in jsii 1.1xx): jsii and the provider package are pinned in
requirements.lock, and tests/toolchain/test_fast_provider.py proves the synthesized JSON is
byte-identical to the ordinary import path.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

PACKAGE = "cdktf_cdktf_provider_aws"
ASSEMBLY = "@cdktf/provider-aws"


def _camel(snake: str) -> str:
    """jsii submodule names are camelCase; pacmak snake_cases them for Python."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def submodule_names(package_dir: Path) -> list[str]:
    return sorted(
        entry.name
        for entry in package_dir.iterdir()
        if entry.is_dir() and not entry.name.startswith("_") and (entry / "__init__.py").exists()
    )


def install() -> bool:
    """Register the lazy package; returns False if it was already imported the ordinary way."""
    if PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        raise ImportError(f"{PACKAGE} is not installed")
    package_dir = Path(spec.origin).parent
    module = types.ModuleType(PACKAGE, "cdktf-cdktf-provider-aws, submodules imported on demand")
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations)
    module.__package__ = PACKAGE
    module.__spec__ = spec
    sys.modules[PACKAGE] = module

    from jsii import _reference_map

    _reference_map._submodule_fqn_map.update(
        {f"{ASSEMBLY}.{_camel(name)}": f"{PACKAGE}.{name}" for name in submodule_names(package_dir)}
    )
    return True
