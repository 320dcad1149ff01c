"""Forward every `CLOUDAGENT_*` GitHub variable to synth, the same way in every workflow.

`plan.yml` and `deploy` (`apply-stack.yml`) run this one step before `make synth`, with the
repository's variables as JSON (`toJSON(vars)`), so both synthesize the same configuration for
the same commit and no setting is silently dropped. It writes `NAME=value` lines for
`$GITHUB_ENV`: every setting's variable that is set, plus `CLOUDAGENT_GITHUB_REPO` from the
repository running the workflow unless a variable sets it. A `CLOUDAGENT_*` variable that is
neither a setting nor a documented variable fails the step, naming it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from stacks.shared.setting_fields import ENV_PREFIX
from stacks.shared.setting_loader import SettingsError, check_environment, specs


def settings_environment(variables: Mapping[str, str], repository: str | None) -> dict[str, str]:
    """The environment that carries the GitHub variables' settings into synth."""
    check_environment({k: v for k, v in variables.items() if k.startswith(ENV_PREFIX)})
    forwarded = {}
    for spec in specs():
        value = variables.get(spec.env_var)
        if value is not None and value != "":
            if "\n" in value or "\r" in value:
                raise SettingsError(f"GitHub variable {spec.env_var}: a value must be one line")
            forwarded[spec.env_var] = value
    if repository and "CLOUDAGENT_GITHUB_REPO" not in forwarded:
        forwarded["CLOUDAGENT_GITHUB_REPO"] = repository
    return forwarded


def main() -> int:
    try:
        variables = json.loads(os.environ.get("VARS_JSON") or "{}")
        env = settings_environment(variables, os.environ.get("GITHUB_REPOSITORY"))
    except (SettingsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, value in sorted(env.items()):
        print(f"{name}={value}")
        print(f"setting {name}={value}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
