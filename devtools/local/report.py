"""What `make up` brought up (`UpResult`, a `StackReport` per stack) and how it says so."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.deploy import LocalDeployment
from devtools.local import agents
from devtools.local.api_server import ORIGIN_HEADER
from devtools.local.lambdas import Aws
from devtools.local.oidc import DEV_SUBJECT, DevIssuer
from devtools.local.paths import LocalPaths, shown
from toolchain.paths import PROJECT_ROOT


@dataclass
class StackReport:
    """How one stack went: seconds for init and apply, and what Terraform changed."""

    stack: str
    init_seconds: float
    apply_seconds: float
    changes: str
    resources: int
    planned_only: dict[str, str] = field(default_factory=dict)


@dataclass
class UpResult:
    """What is up, where, and how to reach it."""

    paths: LocalPaths
    deployment: LocalDeployment
    aws: Aws
    api_url: str
    direct_url: str
    issuer_url: str
    audience: str
    api_function: str
    stacks: list[StackReport]
    synth_seconds: float
    serve_seconds: float
    total_seconds: float
    started: list[str]
    moto_pid: int
    server_pid: int
    runner: agents.RunnerInfo | None = None

    def token(self, subject: str = DEV_SUBJECT, **claims: Any) -> str:
        """A development token the local API accepts."""
        issuer = DevIssuer.load(self.issuer_url, self.paths.key_file)
        return issuer.token(self.audience, subject, **claims)


def summarize(result: UpResult, out: Callable[[str], None]) -> None:
    """What is up, a ready-to-paste curl with a development token, and how to stop."""
    paths = result.paths
    python = (
        shown(Path(sys.executable))
        if Path(sys.executable).is_relative_to(PROJECT_ROOT)
        else "python"
    )
    planned = [
        f"{s.stack}: {len(s.planned_only)} ({'; '.join(sorted(set(s.planned_only.values())))})"
        for s in result.stacks
        if s.planned_only
    ]
    resources = ", ".join(f"{s.stack} {s.resources}" for s in result.stacks)
    token = result.token()
    body = '{"prompt":"Say hello.","provider":"openai","model":"gpt-4o-mini"}'
    admin = result.api_function.removesuffix("-api") + "-admin"
    set_key = '{"action":"set_provider_key","provider":"openai","value":"sk-..."}'
    lines = [
        "",
        f"Cloud Agent Studio is up on the embedded AWS ({result.total_seconds:.1f}s).",
        f"  moto server   {result.aws.url}  pid {result.moto_pid}  log "
        f"{shown(paths.log_file('moto'))}",
        f"  stacks        {resources} resources (state: s3://{result.deployment.bucket} on moto)",
        "  plan-only     " + (", ".join(planned) or "none - every resource applied on moto"),
        f"  control API   {result.api_url}  (CloudFront stand-in: adds {ORIGIN_HEADER})",
        f"                {result.direct_url}  (the app itself: 403 without that header)",
        f"  OIDC issuer   {result.issuer_url}  (development only; the stacks trust GitHub's)",
        f"  API server    pid {result.server_pid}  log {shown(paths.log_file('server'))}",
        "",
        "Try it (the token is valid for an hour; mint another with "
        f"`{python} -m devtools.dev_token`):",
        f"  curl -s {result.api_url}/v1/health",
        f"  TOKEN={token}",
        "  # the fake model's dummy keys are set; with CLOUDAGENT_LOCAL_MODELS=real set yours",
        "  # first (a run whose provider key is unset gets 409 provider_key_not_set):",
        f"  echo '{set_key}' | {python} -m devtools.local.lambdas invoke {admin}",
        f'  curl -s -X POST {result.api_url}/v1/runs -H "Authorization: Bearer $TOKEN" '
        f"-H 'Content-Type: application/json' -d '{body}'",
        f'  curl -s {result.api_url}/v1/runs -H "Authorization: Bearer $TOKEN"',
        "",
        "Stop everything: make down",
    ]
    lines[-2:-2] = ["", *_agent_lines(result, python)]
    for line in lines:
        out(line)


def _agent_lines(result: UpResult, python: str) -> list[str]:
    """The runner, the models, and the command that follows a run to its result."""
    runner = result.runner
    if runner is None:
        return []
    how = (
        f"in the image: {runner.why} (buildah run --isolation chroot)"
        if runner.mode == "image"
        else f"image/entrypoint on this host with Node 24 and pi from .cache/ ({runner.why})"
    )
    models = (
        f"fake model {runner.model_url} (any provider/model; `run: <command>` runs it)"
        if runner.models == "fake"
        else "real providers, with the keys you set through the admin function"
    )
    return [
        "Follow a run to its result (exit code = the run's):",
        f'  {python} -m devtools.run "run: echo hello from the agent"',
        "",
        f"  task runner   pid {runner.pid}  log {shown(result.paths.log_file('runner'))}",
        f"                runs tasks {how}",
        f"  models        {models}",
        f"  sessions      POST /v1/sessions, then `{python} -m devtools.local.shell RUN_ID`",
        "",
    ]
