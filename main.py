"""The CDKTF app: settings -> three stacks -> synth (run by `cdktf synth` or `make synth`)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

if os.environ.get("CLOUDAGENT_SLOW_IMPORT") != "1":
    # Import the provider bindings on demand (toolchain/fast_provider.py); the output is the same.
    from toolchain import fast_provider

    fast_provider.install()

from stacks.shared.setting_loader import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from stacks.app import build_app

    build_app(settings, os.environ.get("CLOUDAGENT_OUTDIR", "cdktf.out")).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
