"""A run's RunTask overrides: each container's environment, and only what that container uses.

The agent gets its job (prompt, model, limits) and, with a repository, the repository it waits
for and a presigned URL to save its session with; the model proxy gets the run's spend cap; the
clone container (repo-init) gets the repository to clone and, for a continuation, a presigned
URL to read its bundle with. The URLs are credentials for one object each, so no container gets
another's (``continuation.py`` signs them). A session's task runs as the exec role
(``taskRoleArn``). ECS's 8 KiB limit counts all of it together (``cloud/ecs.py``).
"""

from __future__ import annotations

from typing import Any

from ..cloud.ecs import container_overrides, with_task_role
from ..core.config import ApiConfig
from ..core.gitref import repo_url
from .continuation import Continuations
from .request import RunRequest, usd_text


def task_environment(
    run_id: str, req: RunRequest, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The agent container's environment for a run (its ECS overrides); ``extra`` is what
    only the agent gets (its session's upload URL)."""
    env = {"RUN_ID": run_id, "AGENT_MAX_RUNTIME_SECONDS": str(req.max_runtime_seconds)}
    if req.provider and req.model:
        env["AGENT_PROVIDER"] = req.provider
        env["AGENT_MODEL"] = req.model
    if req.prompt is not None:
        env["JOB_PROMPT"] = req.prompt
    if req.repo is not None:
        env["AGENT_REPO_URL"] = repo_url(req.repo)
        if req.ref is not None:
            env["AGENT_REPO_REF"] = req.ref
    env.update(extra or {})
    return env


def task_overrides(
    settings: ApiConfig,
    run_id: str,
    req: RunRequest,
    agent_extra: dict[str, str] | None = None,
    repo_init_extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """RunTask's overrides: the agent's job, the model proxy's cap and, with a repository,
    the clone container's repository (the agent gets it too: it waits for that clone).

    ``req`` is the run as its task sees it (a continuation's repo is its parent's and its ref
    the chain's root commit). Each ``*_extra`` goes to that container alone: the presigned
    URLs are credentials, and each container gets only the one it uses.
    """
    proxy = {
        "RUN_ID": run_id,
        "MODEL_PROXY_MAX_COST_USD": usd_text(req.cost_cap(settings.max_run_cost_usd)),
    }
    repo_init = None
    if req.repo is not None:
        repo_init = {"RUN_ID": run_id, "AGENT_REPO_URL": repo_url(req.repo)}
        if req.ref is not None:
            repo_init["AGENT_REPO_REF"] = req.ref
        repo_init.update(repo_init_extra or {})
    agent = task_environment(run_id, req, agent_extra)
    return container_overrides(settings, agent, proxy, repo_init)


def with_urls(
    settings: ApiConfig,
    continuations: Continuations,
    run_id: str,
    task_req: RunRequest,
    continuing: bool,
    interactive: bool,
) -> dict[str, Any]:
    """The task's overrides with its presigned URLs: every run with a repository saves its
    session (the agent's PUT URL); a continuation's repo-init reads its bundle (a GET URL).
    A session also names the exec role as its task role (``with_task_role``), so the size
    check counts it."""
    agent_extra: dict[str, str] = {}
    repo_init_extra: dict[str, str] = {}
    if task_req.repo is not None and not interactive:
        url = continuations.session_upload_url(run_id, task_req)
        agent_extra["AGENT_SESSION_UPLOAD_URL"] = url
        if continuing:
            repo_init_extra["AGENT_CONTINUE_URL"] = continuations.bundle_url(run_id, task_req)
    overrides = task_overrides(settings, run_id, task_req, agent_extra, repo_init_extra)
    return with_task_role(settings, overrides, interactive)
