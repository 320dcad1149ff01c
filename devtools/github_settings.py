"""Forward every `CLOUDAGENT_*` GitHub variable to synth, the same way in every workflow.

`plan.yml` and `deploy` (`apply-stack.yml`) run this one step before `make synth`, with the
repository's variables as JSON (`toJSON(vars)`), so both synthesize the same configuration for
the same commit and no setting is silently dropped. It writes `NAME=value` lines for
`$GITHUB_ENV`: every setting's variable that is set, plus `CLOUDAGENT_GITHUB_REPO` and
`CLOUDAGENT_GITHUB_REPOSITORY_ID` from the repository running the workflow unless a variable
sets the repository. A `CLOUDAGENT_*` variable that is neither a setting nor a documented
variable fails the step, naming it; so does a pinned `CLOUDAGENT_GITHUB_REPOSITORY_ID` that is
not the id of the repository running the workflow (a repository deleted and re-created under
the same name gets a new id, and the API would refuse its tokens).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from stacks.shared.setting_fields import ENV_PREFIX
from stacks.shared.setting_loader import SettingsError, check_environment, specs

ID_VARIABLE = "CLOUDAGENT_GITHUB_REPOSITORY_ID"


def settings_environment(
    variables: Mapping[str, str], repository: str | None, repository_id: str | None = None
) -> dict[str, str]:
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
        _this_repositorys_id(forwarded, repository_id)
    return forwarded


def _this_repositorys_id(forwarded: dict[str, str], repository_id: str | None) -> None:
    """The running repository is the trusted one: its id is the one to pin."""
    if not repository_id:
        return
    pinned = forwarded.setdefault(ID_VARIABLE, repository_id)
    if pinned != repository_id:
        raise SettingsError(
            f"GitHub variable {ID_VARIABLE} is {pinned} but this repository's id is "
            f"{repository_id}: was the repository deleted and re-created? Check it, then "
            "update or delete the variable"
        )


def main() -> int:
    try:
        variables = json.loads(os.environ.get("VARS_JSON") or "{}")
        env = settings_environment(
            variables, os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_REPOSITORY_ID")
        )
    except (SettingsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, value in sorted(env.items()):
        print(f"{name}={value}")
        print(f"setting {name}={value}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
