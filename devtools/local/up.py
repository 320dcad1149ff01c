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

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from devtools.local import agents, processes
from devtools.local.api_server import ensure_server as ensure_server
from devtools.local.api_server import serve_api
from devtools.local.lambdas import Aws
from devtools.local.moto import configure_moto, ensure_moto
from devtools.local.paths import LocalPaths
from devtools.local.report import UpResult, summarize
from devtools.local.session import UpError, locked
from devtools.local.stacks import deploy_stacks
from devtools.terraform import TerraformError

DEFAULT_BUCKET = "cloudagent-tfstate-local"


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
        deployment, reports, synth_seconds = deploy_stacks(
            paths, state, moto, synth_dir, bucket, out
        )

        serve_started = time.monotonic()
        aws = Aws(url=moto.url, region=deployment.region)
        server = serve_api(paths, state, deployment, aws, out)
        runner = agents.ensure_runner(paths, state, aws)
        paths.save_state(state)
        if runner.models == "fake":
            agents.set_dummy_keys(aws, server.function.removesuffix("-api") + "-admin")
        agents.prepare_repositories(paths, server.variables.get("ALLOWED_REPOS", ""), out)
        result = UpResult(
            paths=paths,
            deployment=deployment,
            aws=aws,
            api_url=server.api_url,
            direct_url=server.direct_url,
            issuer_url=server.issuer_url,
            audience=server.variables["OIDC_AUDIENCE"],
            api_function=server.function,
            stacks=reports,
            synth_seconds=synth_seconds,
            serve_seconds=time.monotonic() - serve_started,
            total_seconds=time.monotonic() - begun,
            started=(["moto server"] if moto_started else [])
            + (["API server"] if server.started else [])
            + (["task runner"] if runner.started else []),
            moto_pid=processes.read_pid(paths.pid_file("moto")) or 0,
            server_pid=server.pid,
            runner=runner,
        )
    summarize(result, out)
    return result


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
