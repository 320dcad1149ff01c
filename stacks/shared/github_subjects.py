"""Which GitHub Actions jobs each role and the control API trust: the subjects, in one place.

GitHub's default subject names the repository and the job's environment
(`repo:ORG/REPO:environment:ENV`): any workflow file, from any branch the environment's branch
rule lets through, gets it. With the repository's subject template `workflow` (a one-time
repository setting, `include_claim_keys` = repo, context, job_workflow_ref; docs/OPERATIONS.md,
checked by the workflows' settings step) the subject also names the job's workflow file at its
ref, so each role trusts its own workflow on the default branch with `StringEquals` alone:

- deploy: `apply-stack.yml` (deploy.yml calls it; a called workflow's token names the called
  file), image: `image.yml`, admin-invoke: `admin.yml` (the operator's), the API: `run-agent.yml`
  (continue-run.yml calls it);
- plan runs pull-request code, whose `job_workflow_ref` ends in `@refs/pull/<number>/merge`: no
  exact subject exists, so it alone trusts a `StringLike` with one `*`, the number. The file name
  it pins is the pull request's own (a pull request may rename any workflow to plan.yml): what
  holds plan's trust is still `pull_request` context and the role being read-only.

The setting `github_subject_template` says which template the repository uses (`workflow` by
default; `default` keeps GitHub's default subjects, as before the template).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacks.shared.settings import Settings

WORKFLOW_TEMPLATE_KEYS = ("repo", "context", "job_workflow_ref")
# The workflow file whose jobs each caller's token comes from.
CALLER_WORKFLOWS = {
    "deploy": "apply-stack.yml",
    "image": "image.yml",
    "admin": "admin.yml",
    "api": "run-agent.yml",
    "plan": "plan.yml",
}
PULL_REQUEST_REF = "refs/pull/*/merge"


@dataclass(frozen=True)
class Trusted:
    """The one subject a role trusts and the operator that compares it."""

    operator: str  # StringEquals, or StringLike for the plan role's pull-request number only
    subject: str


def default_ref(settings: Settings) -> str:
    """The `ref` claim of a job on the default branch."""
    return f"refs/heads/{settings.github_default_branch}"


def workflow_ref(settings: Settings, workflow_file: str, ref: str | None = None) -> str:
    """`job_workflow_ref` of a job of `workflow_file` in the repository, at `ref`."""
    return (
        f"{settings.github_repo}/.github/workflows/{workflow_file}@{ref or default_ref(settings)}"
    )


def api_workflow_refs(settings: Settings) -> list[str]:
    """The `job_workflow_ref` values the API accepts: run-agent.yml on the default branch."""
    return [workflow_ref(settings, CALLER_WORKFLOWS["api"])]


def environment_subject(settings: Settings, caller: str) -> str:
    """The subject of `caller`'s jobs (deploy, image, admin, api): the gated environment, and
    with the `workflow` template the caller's workflow file on the default branch."""
    base = f"repo:{settings.github_repo}:environment:{settings.github_environment}"
    if settings.github_subject_template != "workflow":
        return base
    return f"{base}:job_workflow_ref:{workflow_ref(settings, CALLER_WORKFLOWS[caller])}"


def role_trust(settings: Settings, role: str) -> Trusted:
    """What the role (plan, deploy, image, admin) trusts."""
    if role != "plan":
        return Trusted("StringEquals", environment_subject(settings, role))
    base = f"repo:{settings.github_repo}:pull_request"
    if settings.github_subject_template != "workflow":
        return Trusted("StringEquals", base)
    plan = workflow_ref(settings, CALLER_WORKFLOWS["plan"], PULL_REQUEST_REF)
    return Trusted("StringLike", f"{base}:job_workflow_ref:{plan}")


def subject_from_claims(claims: dict[str, Any], template: str) -> str:
    """The `sub` GitHub builds from a token's other claims under `template` (what the
    repository's OIDC setting must produce for the roles' trust to match)."""
    if claims.get("environment"):
        context = f"environment:{claims['environment']}"
    elif claims.get("event_name") == "pull_request":
        context = "pull_request"
    else:
        context = f"ref:{claims.get('ref')}"
    subject = f"repo:{claims.get('repository')}:{context}"
    if template == "workflow":
        subject += f":job_workflow_ref:{claims.get('job_workflow_ref')}"
    return subject
