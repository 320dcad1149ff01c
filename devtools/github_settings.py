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

In a job that may request an OIDC token (`id-token: write`: plan's and apply-stack's), the step
also reads its own token's subject (for a throwaway audience that no role or API accepts) and
fails, saying what to set, unless it is the one the repository's subject template must produce
for the setting `github_subject_template` (stacks/shared/github_subjects.py): the roles' trust
and the API are built for that template, so a repository left on another fails here with the
fix instead of at `AssumeRoleWithWebIdentity` with "Not authorized".
"""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.request
from collections.abc import Mapping
from typing import Any

from stacks.shared.github_subjects import WORKFLOW_TEMPLATE_KEYS, subject_from_claims
from stacks.shared.setting_fields import ENV_PREFIX
from stacks.shared.setting_loader import SettingsError, check_environment, load_settings, specs

ID_VARIABLE = "CLOUDAGENT_GITHUB_REPOSITORY_ID"
# A token for nobody: its subject is what this step reads, its audience no trust accepts.
CHECK_AUDIENCE = "cloudagent-subject-check"


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


def subject_problem(claims: Mapping[str, Any], template: str, repository: str) -> str | None:
    """Why this job's token would not fit the trust built for `template`; None when it fits."""
    expected = subject_from_claims(dict(claims), template)
    if claims.get("sub") == expected:
        return None
    body = (
        {"use_default": False, "include_claim_keys": list(WORKFLOW_TEMPLATE_KEYS)}
        if template == "workflow"
        else {"use_default": True}
    )
    return (
        f"this job's OIDC subject is {claims.get('sub')!r}, but github_subject_template="
        f"{template} needs {expected!r}. Set the repository's subject template once "
        f"(docs/OPERATIONS.md): echo '{json.dumps(body)}' | gh api -X PUT "
        f"repos/{repository}/actions/oidc/customization/sub --input -"
    )


def token_claims(request_url: str, request_token: str) -> dict[str, Any]:
    """This job's OIDC token's claims (read, not verified: the step only reports; the roles and
    the API verify)."""
    req = urllib.request.Request(
        f"{request_url}&audience={CHECK_AUDIENCE}",
        headers={"Authorization": f"bearer {request_token}"},
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        token = json.loads(response.read())["value"]
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def check_subject(env: Mapping[str, str]) -> None:
    """In a job that can request a token, refuse a repository whose subject template is not the
    one the settings trust; elsewhere (no `id-token: write`) there is nothing to read."""
    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not token:
        return
    settings = load_settings(environ=env)
    problem = subject_problem(
        token_claims(url, token), settings.github_subject_template, settings.github_repo
    )
    if problem:
        raise SettingsError(problem)


def main() -> int:
    try:
        variables = json.loads(os.environ.get("VARS_JSON") or "{}")
        env = settings_environment(
            variables, os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_REPOSITORY_ID")
        )
        check_subject(env)
    except (SettingsError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, value in sorted(env.items()):
        print(f"{name}={value}")
        print(f"setting {name}={value}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
