"""`make up`'s API server: its wiring read back from the deployment, started or reused.

The process is `devtools.local.serve`; this module writes what it serves with (the deployed
Lambda's environment, the development issuer, the CloudFront stand-in's origin headers) and
starts it only when that wiring changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools import moto_server
from devtools.deploy import LocalDeployment
from devtools.local import processes
from devtools.local.lambdas import Aws, function_environment
from devtools.local.oidc import DEV_JOB_WORKFLOW_REF, DEV_REF, DEV_SUBJECT, DevIssuer
from devtools.local.paths import LocalPaths
from devtools.local.session import SERVE_MARKER, UpError
from toolchain.paths import PROJECT_ROOT

ORIGIN_HEADER = "X-Origin-Verify"
API_LAMBDA_HANDLER = "app.app"  # the Chalice handler of the HTTP routes
# The local server replaces only these; everything else is the deployed Lambda's environment.
# OIDC_REPOSITORY_ID is emptied because development tokens carry no GitHub repository id (it
# differs from the deployed value only when the setting github_repository_id is set); the ref
# and workflow are the development token's (devtools/local/oidc.py).
LOCAL_OVERRIDES = (
    "OIDC_ISSUER",
    "OIDC_JWKS_URL",
    "OIDC_ALLOWED_SUBJECTS",
    "OIDC_REPOSITORY_ID",
    "OIDC_REF",
    "OIDC_JOB_WORKFLOW_REFS",
)


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


def http_status(url: str, timeout: float = 5) -> int:
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
        if state.get("server_config_sha256") == digest and http_status(health) == 200:
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
    while http_status(health, timeout=2) != 200:
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


@dataclass
class ApiServer:
    """The API server `serve_api` left running, and what it serves."""

    function: str
    variables: dict[str, str]
    issuer_url: str
    api_url: str
    direct_url: str
    pid: int
    started: bool


def serve_api(
    paths: LocalPaths,
    state: dict[str, Any],
    deployment: LocalDeployment,
    aws: Aws,
    out: Callable[[str], None],
) -> ApiServer:
    """The API server wired to the deployed API function, checked and recorded in `state`."""
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
            "OIDC_REF": DEV_REF,
            "OIDC_JOB_WORKFLOW_REFS": DEV_JOB_WORKFLOW_REF,
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
    direct = http_status(direct_url + "/v1/health")
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
    return ApiServer(
        function, variables, issuer_url, api_url, direct_url, server_pid, server_started
    )
