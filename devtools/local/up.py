"""`make up`: the three stacks on the embedded AWS, then the API served on 127.0.0.1.

Steps, each printed with its time:

1. moto server on 127.0.0.1 (`CLOUDAGENT_MOTO_PORT` or a free port; pid and log under `.local/`)
   and the Terraform state bucket on it;
2. synth with that bucket, so each stack gets the production S3 backend and its own state;
3. `terraform init` + `apply` of foundation, agent, api in order - later stacks read earlier
   ones through `terraform_remote_state`, exactly as in AWS. A resource moto cannot create
   is planned instead of applied (`devtools/plan_only.py`: the DNS Firewall and the
   Resolver query log, each listed with its reason);
4. the API (`devtools.local.serve`) with the deployed Lambda's environment read back from moto,
   the development OIDC issuer and the CloudFront stand-in;
5. the local task runner (`devtools.local.runner`, Fargate's part: `devtools.local.agents`),
   the fake model's dummy provider keys through the deployed admin function, and the bare
   repositories runs may clone.

A second `make up` reuses the running processes (nothing is started twice), re-applies (a no-op
when nothing changed) and restarts the API server only if its wiring changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools import moto_server
from devtools.deploy import LocalDeployment
from devtools.local import agents, processes
from devtools.local.lambdas import Aws, function_environment
from devtools.local.oidc import DEV_SUBJECT, DevIssuer
from devtools.local.overrides import write_local_overrides
from devtools.local.paths import LocalPaths
from devtools.local.session import MOTO_MARKER, SERVE_MARKER, UpError, locked
from devtools.plan_only import plan_only
from devtools.synth import synthesize
from devtools.terraform import TerraformError, write_cli_config
from stacks.shared.constants import STACK_NAMES
from toolchain.paths import PROJECT_ROOT

DEFAULT_BUCKET = "cloudagent-tfstate-local"
ORIGIN_HEADER = "X-Origin-Verify"
API_LAMBDA_HANDLER = "app.app"  # the Chalice handler of the HTTP routes
# The local server replaces only these; everything else is the deployed Lambda's environment.
# OIDC_REPOSITORY_ID is emptied because development tokens carry no GitHub repository id (it
# differs from the deployed value only when the setting github_repository_id is set).
LOCAL_OVERRIDES = ("OIDC_ISSUER", "OIDC_JWKS_URL", "OIDC_ALLOWED_SUBJECTS", "OIDC_REPOSITORY_ID")


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


def _moto_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
            return True
    except OSError:
        return False


# How the embedded AWS moves resources between states (moto's state manager):
# * a CloudFront distribution is Deployed at once - waiting for moto's "InProgress" to pass
#   cost about 30 s on apply and as much again on destroy, and proves nothing;
# * an ECS task stays where RunTask put it until StopTask: moto runs no container; the local
#   task runner (devtools.local.runner) runs it and reports its end as ECS would.
MOTO_TRANSITIONS = {
    "cloudfront::distribution": {"progression": "immediate"},
    "ecs::task": {"progression": "manual", "times": 10**9},
}


def configure_moto(url: str) -> None:
    """Apply MOTO_TRANSITIONS (idempotent, so a reused server gets them too)."""
    for model, transition in MOTO_TRANSITIONS.items():
        request = urllib.request.Request(
            f"{url}/moto-api/state-manager/set-transition",
            data=json.dumps({"model_name": model, "transition": transition}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):
            pass


def ensure_moto(paths: LocalPaths, state: dict[str, Any], out: Callable[[str], None]) -> tuple:
    """(MotoServer, started?) - the running one of the last `make up`, or a new one."""
    pid = processes.read_pid(paths.pid_file("moto"))
    port = state.get("moto_port")
    if port and processes.alive(pid, MOTO_MARKER) and _moto_answers(f"http://127.0.0.1:{port}"):
        out(f"moto server: already running at http://127.0.0.1:{port} (pid {pid})")
        # Attached, not owned: this process never stops it; `make down` does, by pid.
        return moto_server.MotoServer(port=port, process=None), False  # type: ignore[arg-type]
    if pid and processes.alive(pid, MOTO_MARKER):
        processes.stop(pid, MOTO_MARKER)
    wanted = int(os.environ.get("CLOUDAGENT_MOTO_PORT") or 0)
    if wanted and not processes.port_free(wanted):
        raise UpError(f"CLOUDAGENT_MOTO_PORT={wanted} is in use; pick another or unset it")
    started = time.monotonic()
    server = moto_server.start(port=wanted or None, log_file=paths.log_file("moto"))
    processes.write_pid(paths.pid_file("moto"), server.process.pid)
    out(
        f"moto server: started at {server.url} (pid {server.process.pid}, "
        f"log {_show(paths.log_file('moto'))}) in {time.monotonic() - started:.1f}s"
    )
    return server, True


def _show(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def region_of(synth_dir: Path) -> str:
    doc = json.loads((synth_dir / "stacks" / STACK_NAMES[0] / "cdk.tf.json").read_text())
    providers = doc.get("provider", {}).get("aws", [{}])
    return next((p["region"] for p in providers if "alias" not in p and "region" in p), "us-east-1")


def _changes(apply_output: str) -> str:
    found = re.search(r"(Apply complete! Resources: [^\n]*|No changes\.[^\n]*)", apply_output)
    return found.group(1).rstrip(".") if found else "applied"


def apply_stack(deployment: LocalDeployment, stack: str, out: Callable[[str], None]) -> StackReport:
    """init + apply one stack (planning what moto cannot create instead, plan_only.py), timed."""
    out(f"  {stack:<11} init + apply ...")
    started = time.monotonic()
    write_local_overrides(deployment, stack)
    tf = deployment.prepare(stack)
    init_done = time.monotonic()
    doc = json.loads((deployment.synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
    skipped = plan_only(stack, doc)
    output = tf.apply(*deployment.apply_targets(stack))
    if skipped:
        tf.run("plan", "-input=false", "-lock=false", *[f"-target={a}" for a in skipped])
    done = time.monotonic()
    # Terraform's own account (per-resource times) for when a stack is slow or fails later.
    (deployment.workdir(stack) / "apply.log").write_text(output)
    resources = len(deployment.state(stack).get("resources", []))
    report = StackReport(
        stack=stack,
        init_seconds=init_done - started,
        apply_seconds=done - init_done,
        changes=_changes(output),
        resources=resources,
        planned_only=dict(skipped),
    )
    out(
        f"  {stack:<11} init {report.init_seconds:5.1f}s  apply {report.apply_seconds:5.1f}s  "
        f"{resources:>3} resources in state  ({report.changes})"
    )
    for address, why in skipped.items():
        out(f"  {'':<11} planned, not applied: {address} - {why}")
    return report


def api_function_name(deployment: LocalDeployment) -> str:
    """The control API function, found in the api stack's state by its handler."""
    for resource in deployment.state("api").get("resources", []):
        if resource.get("type") != "aws_lambda_function":
            continue
        for instance in resource.get("instances", []):
            attributes = instance.get("attributes", {})
            if attributes.get("handler") == API_LAMBDA_HANDLER:
                return attributes["function_name"]
    raise UpError(f"no Lambda function with handler {API_LAMBDA_HANDLER} in the api stack's state")


def origin_headers(aws: Aws, execute_api_domain: str, secret_arn: str | None) -> dict[str, str]:
    """The custom headers the deployed CloudFront distribution sends to the API origin."""
    cloudfront = aws.client("cloudfront")
    items = cloudfront.list_distributions().get("DistributionList", {}).get("Items", [])
    for item in items:
        for origin in item.get("Origins", {}).get("Items", []):
            if origin.get("DomainName") != execute_api_domain:
                continue
            headers = {
                h["HeaderName"]: h["HeaderValue"]
                for h in origin.get("CustomHeaders", {}).get("Items", [])
            }
            if ORIGIN_HEADER in headers:
                return headers
    if secret_arn:  # the same value, read where the app reads it
        value = aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)
        return {ORIGIN_HEADER: value["SecretString"]}
    return {}


def _http_status(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def ensure_server(
    paths: LocalPaths, state: dict[str, Any], config: dict[str, Any], out: Callable[[str], None]
) -> tuple[int, bool]:
    """(pid, started?) of the API server for `config`; reused when its wiring is unchanged."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    pid = processes.read_pid(paths.pid_file("server"))
    health = f"http://127.0.0.1:{config['edge_port']}/v1/health"
    if processes.alive(pid, SERVE_MARKER):
        if state.get("server_config_sha256") == digest and _http_status(health) == 200:
            out(f"API server: already running, wiring unchanged (pid {pid})")
            return pid, False  # type: ignore[return-value]
        out(f"API server: wiring changed, restarting (pid {pid})")
        processes.stop(pid, SERVE_MARKER)
    for name in ("edge_port", "app_port", "issuer_port"):
        if not processes.port_free(config[name]):
            raise UpError(f"port {config[name]} ({name}) is in use; run `make down` first")
    fd = os.open(paths.serve_config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(config, handle, indent=2)
    process = processes.spawn(
        SERVE_MARKER,
        [str(paths.serve_config)],
        log_path=paths.log_file("server"),
        pid_path=paths.pid_file("server"),
    )
    deadline = time.monotonic() + 30
    while _http_status(health, timeout=2) != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            processes.stop(process.pid, SERVE_MARKER)
            tail = paths.log_file("server").read_text()[-3000:]
            raise UpError(f"the API server did not come up:\n{tail}")
        time.sleep(0.1)
    state["server_config_sha256"] = digest
    return process.pid, True


def _ports(state: dict[str, Any]) -> dict[str, int]:
    """The previous run's ports when it left them, so URLs stay the same across `make up`s."""
    previous = state.get("ports", {})
    wanted_edge = int(os.environ.get("CLOUDAGENT_API_PORT") or 0)
    return {
        "edge_port": wanted_edge or previous.get("edge_port") or moto_server.free_port(),
        "app_port": previous.get("app_port") or moto_server.free_port(),
        "issuer_port": previous.get("issuer_port") or moto_server.free_port(),
    }


def up(
    paths: LocalPaths | None = None,
    *,
    synth_dir: Path | None = None,
    bucket: str | None = None,
    out: Callable[[str], None] = print,
) -> UpResult:
    """Bring everything up (idempotently) and return where it is."""
    paths = paths or LocalPaths.from_env()
    bucket = bucket or os.environ.get("CLOUDAGENT_STATE_BUCKET") or DEFAULT_BUCKET
    begun = time.monotonic()
    with locked(paths):
        state = paths.load_state()
        moto, moto_started = ensure_moto(paths, state, out)
        configure_moto(moto.url)
        state.update(moto_port=moto.port, moto_url=moto.url)
        paths.save_state(state)

        synth_started = time.monotonic()
        if synth_dir is None:
            shutil.rmtree(paths.synth_dir, ignore_errors=True)
            synthesize(paths.synth_dir, {"CLOUDAGENT_STATE_BUCKET": bucket})
            synth_dir = paths.synth_dir
        synth_seconds = time.monotonic() - synth_started
        out(f"synth: 3 stacks with S3 state in bucket {bucket} ({synth_seconds:.1f}s)")
        region = region_of(synth_dir)
        deployment = LocalDeployment(
            synth_dir=synth_dir,
            workroot=paths.work_dir,
            moto=moto,
            bucket=bucket,
            region=region,
            cli_config=write_cli_config(paths.cli_config),
        )
        state.update(region=region, bucket=bucket, synth_dir=str(synth_dir))
        paths.save_state(state)
        deployment.ensure_state_bucket()
        out(f"stacks (in order, each with its own state in s3://{bucket} on moto):")
        reports = [apply_stack(deployment, stack, out) for stack in STACK_NAMES]

        serve_started = time.monotonic()
        aws = Aws(url=moto.url, region=region)
        function = api_function_name(deployment)
        _, variables = function_environment(aws, function)
        ports = _ports(state)
        issuer_url = f"http://127.0.0.1:{ports['issuer_port']}"
        api_outputs = deployment.terraform("api").output()
        config = {
            "project_dir": str(PROJECT_ROOT / "chalice_api"),
            "app_env": {
                **variables,
                **aws.env(),
                "OIDC_ISSUER": issuer_url,
                "OIDC_JWKS_URL": issuer_url + "/.well-known/jwks",
                "OIDC_ALLOWED_SUBJECTS": DEV_SUBJECT,
                "OIDC_REPOSITORY_ID": "",
            },
            "unset_env": ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"],
            "issuer_url": issuer_url,
            "key_file": str(paths.key_file),
            "origin_headers": origin_headers(
                aws,
                api_outputs["execute_api_domain"]["value"],
                variables.get("ORIGIN_VERIFY_SECRET_ARN"),
            ),
            **ports,
        }
        DevIssuer.load(issuer_url, paths.key_file)  # create the key before the server reads it
        server_pid, server_started = ensure_server(paths, state, config, out)
        api_url = f"http://127.0.0.1:{ports['edge_port']}"
        direct_url = f"http://127.0.0.1:{ports['app_port']}"
        direct = _http_status(direct_url + "/v1/health")
        if direct != 403:
            raise UpError(f"the app's own port answered {direct} without the origin header")
        state.update(
            ports=ports,
            api_url=api_url,
            direct_url=direct_url,
            issuer_url=issuer_url,
            audience=variables["OIDC_AUDIENCE"],
            subject=DEV_SUBJECT,
            api_function=function,
            key_file=str(paths.key_file),
        )
        paths.save_state(state)
        runner = agents.ensure_runner(paths, state, aws)
        paths.save_state(state)
        if runner.models == "fake":
            agents.set_dummy_keys(aws, function.removesuffix("-api") + "-admin")
        agents.prepare_repositories(paths, variables.get("ALLOWED_REPOS", ""), out)
        result = UpResult(
            paths=paths,
            deployment=deployment,
            aws=aws,
            api_url=api_url,
            direct_url=direct_url,
            issuer_url=issuer_url,
            audience=variables["OIDC_AUDIENCE"],
            api_function=function,
            stacks=reports,
            synth_seconds=synth_seconds,
            serve_seconds=time.monotonic() - serve_started,
            total_seconds=time.monotonic() - begun,
            started=(["moto server"] if moto_started else [])
            + (["API server"] if server_started else [])
            + (["task runner"] if runner.started else []),
            moto_pid=processes.read_pid(paths.pid_file("moto")) or 0,
            server_pid=server_pid,
            runner=runner,
        )
    summarize(result, out)
    return result


def summarize(result: UpResult, out: Callable[[str], None]) -> None:
    """What is up, a ready-to-paste curl with a development token, and how to stop."""
    paths = result.paths
    python = (
        _show(Path(sys.executable))
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
        f"{_show(paths.log_file('moto'))}",
        f"  stacks        {resources} resources (state: s3://{result.deployment.bucket} on moto)",
        "  plan-only     " + (", ".join(planned) or "none - every resource applied on moto"),
        f"  control API   {result.api_url}  (CloudFront stand-in: adds {ORIGIN_HEADER})",
        f"                {result.direct_url}  (the app itself: 403 without that header)",
        f"  OIDC issuer   {result.issuer_url}  (development only; the stacks trust GitHub's)",
        f"  API server    pid {result.server_pid}  log {_show(paths.log_file('server'))}",
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
        f"  task runner   pid {runner.pid}  log {_show(result.paths.log_file('runner'))}",
        f"                runs tasks {how}",
        f"  models        {models}",
        f"  sessions      POST /v1/sessions, then `{python} -m devtools.local.shell RUN_ID`",
        "",
    ]


def main() -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        up(out=lambda line: print(line, flush=True))
    except (UpError, TerraformError) as error:
        print(f"make up: {error}", file=sys.stderr)
        print(
            "make up: what is already running stays up; fix the cause and run `make up` "
            "again, or `make down` to remove everything",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
