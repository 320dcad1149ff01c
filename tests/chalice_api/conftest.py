"""Fixtures for the control API: moto in-process, a JWKS server on 127.0.0.1, real RS256 tokens.

The app is imported from ``chalice_api/`` the way Lambda does (``app`` and ``chalicelib`` at the
top level). Every boto3 client is created after ``mock_aws`` starts (the app's client cache is
reset per test); moto's ECS needs container-level memory, securityGroups and a VPC with DNS
hostnames, which the fixture provides like the real stacks do.

Like the stacks, there are two task definitions per provider (``model-proxy`` + ``agent``, and
the ``-repo`` family with ``repo-init`` first) and the provider secrets start with no value:
``client`` sets every key first (an operator who has set them all), ``client_without_keys``
leaves them unset. The environment sets ``ORIGIN_VERIFY=off`` (no edge in these tests); the
origin tests set the secret's ARN instead. GitHub is never asked: the admin function's push
check is pointed at a closed port on 127.0.0.1 (``github``), or at a test's own server.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.control_api import (
    APP_DIR,
    ARTIFACT_BUCKET,
    AUDIENCE,
    CONTAINER,
    EXEC_ROLE_ARN,
    ISSUER,
    JOB_WORKFLOW_REF,
    KID,
    REF,
    REGION,
    SUBJECT,
    Env,
    Jwks,
    task_event,
)
from tests.support.fake_resolver import FakeFirewallDomainLists

# moto's EC2 backend otherwise parses thousands of AMIs on every reset (~0.15 s per test).
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))

import app as app_module
from chalicelib.cloud import key_check, push_check
from chalicelib.core import aws
from chalicelib.core import config as cfg
from chalicelib.core.config import PROVIDERS
from chalicelib.http import auth, origin
from chalicelib.runs import deployment

# -- keys, tokens and the JWKS server ---------------------------------------------------------


@pytest.fixture(scope="session")
def jwks() -> Iterator[Jwks]:
    """A JWKS endpoint on 127.0.0.1 (free port) serving one RSA key; stopped at session end."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
    payload = json.dumps({"keys": [jwk]}).encode()
    hits: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(time.time())
            self.send_response(200 if self.path == "/.well-known/jwks" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks"
        yield Jwks(url=url, private_key=key, other_key=other, hits=hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def make_token(jwks: Jwks) -> Callable[..., str]:
    """Sign a GitHub-Actions-shaped OIDC token; keyword args override claims/header/key."""
    import jwt

    def make(
        *, key: Any = None, kid: str | None = KID, headers: dict | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": SUBJECT,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
            "repository": "acme/agents",
            "ref": REF,
            "job_workflow_ref": JOB_WORKFLOW_REF,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        hdr = dict(headers or {})
        if kid is not None:
            hdr["kid"] = kid
        return jwt.encode(body, key or jwks.private_key, algorithm="RS256", headers=hdr)

    return make


# -- AWS (moto) --------------------------------------------------------------------------------


def _create_table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_time",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )


MODEL_PROXY = "model-proxy"
REPO_INIT = "repo-init"


def _register_families(ecs: Any, provider: str) -> tuple[str, str]:
    """The provider's two families as the agent stack registers them; their ARNs without the
    revision (RunTask takes the latest ACTIVE one): (without, with the clone container)."""
    proxy = {"name": MODEL_PROXY, "image": "agent:latest", "memory": 512, "essential": True}
    agent = {
        "name": CONTAINER,
        "image": "agent:latest",
        "memory": 122880 - 512,
        "essential": True,
        "environment": [{"name": "AGENT_PROVIDER", "value": provider}],
    }
    # The stack gives the clone container no memory of its own (the task's); moto's RunTask
    # adds up container figures, so it gets a soft reservation here.
    clone = {
        "name": REPO_INIT,
        "image": "agent:latest",
        "memoryReservation": 128,
        "essential": False,
    }
    arns = []
    for suffix, containers in (("", [proxy, agent]), ("-repo", [clone, proxy, agent])):
        arn = ecs.register_task_definition(
            family=f"cloudagent-agent-{provider}{suffix}",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="16384",
            memory="122880",
            containerDefinitions=containers,
        )["taskDefinition"]["taskDefinitionArn"]
        arns.append(arn.rsplit(":", 1)[0])
    return arns[0], arns[1]


def reset_app_caches() -> None:
    """Forget settings, boto3 clients, JWKS and secrets cached by the app."""
    cfg.reset()
    aws.reset()
    auth.reset()
    origin.reset()
    key_check.reset()
    deployment.reset()


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def github(monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the push check asks GitHub: by default nowhere that answers (no network)."""
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setattr(push_check, "GITHUB_URL", url)
    return url


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch, jwks: Jwks) -> Iterator[Env]:
    """A table, VPC, cluster, a task definition per provider, log group, five empty secrets,
    the artifact bucket."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from moto.moto_api import state_manager

    with mock_aws():
        # moto advances a task one state per DescribeTasks (RUNNING -> ... -> STOPPED); real
        # tasks keep running, so freeze them until StopTask.
        state_manager.set_transition(
            model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
        )
        reset_app_caches()
        boto = aws.session()  # one session for the whole run: service models load once
        ec2 = boto.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="agent", Description="agent", VpcId=vpc)["GroupId"]
        ecs = boto.client("ecs", region_name=REGION)
        # As foundation associates them: both Fargate capacity providers, on-demand by default.
        cluster = ecs.create_cluster(
            clusterName="cloudagent-test",
            capacityProviders=["FARGATE", "FARGATE_SPOT"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
        )["cluster"]["clusterArn"]
        families = {p: _register_families(ecs, p) for p in PROVIDERS}
        taskdefs = {p: arns[0] for p, arns in families.items()}
        repo_taskdefs = {p: arns[1] for p, arns in families.items()}
        logs = boto.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName="/cloudagent/test/agent")
        table = "cloudagent-test"
        _create_table(boto.client("dynamodb", region_name=REGION), table)
        # The api workspace's artifact bucket (sessions, continuation bundles).
        boto.client("s3", region_name=REGION).create_bucket(Bucket=ARTIFACT_BUCKET)
        sm = boto.client("secretsmanager", region_name=REGION)
        secrets = {
            # As the foundation stack creates them: no value (no version) at all.
            p: sm.create_secret(Name=f"cloudagent/test/{p}")["ARN"]
            for p in PROVIDERS
        }
        env = {
            "TABLE_NAME": table,
            "CLUSTER_ARN": cluster,
            "TASK_DEFINITION_ARNS": json.dumps(taskdefs),
            "REPO_TASK_DEFINITION_ARNS": json.dumps(repo_taskdefs),
            "CONTAINER_NAME": CONTAINER,
            "MODEL_PROXY_CONTAINER_NAME": MODEL_PROXY,
            "REPO_INIT_CONTAINER_NAME": REPO_INIT,
            "MAX_RUN_COST_USD": "25",
            "SUBNET_IDS": subnet,
            "SECURITY_GROUP_IDS": sg,
            "LOG_GROUP_NAME": "/cloudagent/test/agent",
            "MAX_CONCURRENT_RUNS": "5",
            "OIDC_ISSUER": ISSUER,
            "OIDC_JWKS_URL": jwks.url,
            "OIDC_AUDIENCE": AUDIENCE,
            "OIDC_ALLOWED_SUBJECTS": f"{SUBJECT},repo:acme/agents:environment:staging",
            "OIDC_REF": REF,
            "OIDC_JOB_WORKFLOW_REFS": JOB_WORKFLOW_REF,
            "APP_STAGE": "test",
            "APP_VERSION": "1.2.3",
            "TASK_HOURLY_COST_USD": json.dumps({"on-demand": 1.08, "spot": 0.43}),
            "PROVIDER_SECRET_ARNS": json.dumps(secrets),
            "AGENT_STOP_GRACE_SECONDS": "30",
            "ORIGIN_VERIFY": "off",
            "ARTIFACT_BUCKET": ARTIFACT_BUCKET,
            "EXEC_TASK_ROLE_ARN": EXEC_ROLE_ARN,
        }
        for name in (
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "ORIGIN_VERIFY_SECRET_ARN",
            "REPO_TOKEN_SECRET_ARN",
            "OIDC_REPOSITORY_ID",
            *(f"EGRESS_{n}" for n in ("MODE", "QUERY_LOG_GROUP", "RUN_DOMAIN_LIST_ID")),
            "EGRESS_RUN_DOMAINS_ALLOWED",
        ):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield Env(
            table=table,
            cluster_arn=cluster,
            task_definition_arns=taskdefs,
            log_group="/cloudagent/test/agent",
            subnets=[subnet],
            security_groups=[sg],
            secret_arns=secrets,
            env=env,
        )
        reset_app_caches()
        state_manager.unset_transition("ecs::task")


@pytest.fixture
def client_without_keys(api_env: Env) -> Any:
    """Chalice's test client for the app (routes, lambda functions); no provider key is set."""
    from chalice.test import Client

    with Client(app_module.app, stage_name="dev", project_dir=str(APP_DIR)) as c:
        yield c


@pytest.fixture
def provider_keys(api_env: Env) -> dict[str, str]:
    """Every provider key set, as an operator does with the admin function (provider -> value)."""
    sm = aws.client("secretsmanager")
    values = {provider: f"sk-test-{provider}" for provider in api_env.secret_arns}
    for provider, arn in api_env.secret_arns.items():
        sm.put_secret_value(SecretId=arn, SecretString=values[provider])
    return values


@pytest.fixture
def client(client_without_keys: Any, provider_keys: dict[str, str]) -> Any:
    """The test client of a deployment whose operator has set every provider key."""
    return client_without_keys


@pytest.fixture
def headers(make_token: Callable[..., str]) -> dict[str, str]:
    """Headers of an authorized JSON request."""
    return {"Authorization": f"Bearer {make_token()}", "Content-Type": "application/json"}


@pytest.fixture
def run_task_calls(api_env: Env) -> list[dict[str, Any]]:
    """Every RunTask request the app sends (recorded on its own boto3 client)."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(json.loads(json.dumps(params, default=str)))

    aws.client("ecs").meta.events.register("provide-client-params.ecs.RunTask", record)
    return calls


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB calls one at a time, as the project's moto server serves them (DynamoDB is
    atomic; moto's failed-transaction restore is not: devtools/moto_fidelity.py)."""
    from moto.dynamodb.responses import DynamoHandler

    from devtools.moto_fidelity import dynamodb_call_one_at_a_time

    monkeypatch.setattr(DynamoHandler, "call_action", dynamodb_call_one_at_a_time)


# -- a task's log streams and its end -----------------------------------------------------------


@pytest.fixture
def agent_log(api_env: Env) -> Callable[..., None]:
    """Write lines to a task's awslogs stream (agent/<container>/<task-id>), one event each;
    the agent's by default, ``container="model-proxy"`` for the proxy's."""
    logs = aws.client("logs")
    clock = [int(time.time() * 1000)]

    def write(task_arn: str, lines: list[str], container: str = CONTAINER) -> None:
        stream = f"agent/{container}/{task_arn.rsplit('/', 1)[-1]}"
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=api_env.log_group, logStreamName=stream)
        for i in range(0, len(lines), 4):  # stays under PutLogEvents' 1 MB batch
            batch = []
            for line in lines[i : i + 4]:
                clock[0] += 1
                batch.append({"timestamp": clock[0], "message": line})
            logs.put_log_events(
                logGroupName=api_env.log_group, logStreamName=stream, logEvents=batch
            )

    return write


@pytest.fixture
def stop(client: Any, api_env: Env) -> Callable[..., dict[str, Any]]:
    """Deliver the task's STOPPED event to the task_state handler."""

    def deliver(run_id: str, arn: str, exit_code: int = 0, **kw: Any) -> dict[str, Any]:
        event = task_event(api_env, run_id, arn, "STOPPED", exit_code=exit_code, **kw)
        return client.lambda_.invoke("task_state", event).payload

    return deliver


# -- the DNS Firewall --------------------------------------------------------------------------

RUN_DOMAIN_LIST_ID = "rslvr-fdl-0123456789abcdef"
QUERY_LOG_GROUP = "/cloudagent/test/dns-firewall"


@pytest.fixture
def repo_token_secret(api_env: Env, monkeypatch: pytest.MonkeyPatch) -> str:
    """private_repos on: the clone token's secret exists, with no value yet."""
    arn = aws.client("secretsmanager").create_secret(Name="cloudagent/test/repo-token")["ARN"]
    monkeypatch.setenv("REPO_TOKEN_SECRET_ARN", arn)
    cfg.reset()
    return arn


@pytest.fixture
def firewall(api_env: Env, monkeypatch: pytest.MonkeyPatch) -> FakeFirewallDomainLists:
    """A deployment with egress_mode enforce: the query-log group (moto), the per-run domain
    list (the one faked client, see tests/support/fake_resolver.py) and an allow-list of
    ``pypi.example.com`` and ``*.corp.example.org`` for per-run additions."""
    fake = FakeFirewallDomainLists(RUN_DOMAIN_LIST_ID)
    fake.install(aws.client("route53resolver"))
    aws.client("logs").create_log_group(logGroupName=QUERY_LOG_GROUP)
    for name, value in {
        "EGRESS_MODE": "enforce",
        "EGRESS_QUERY_LOG_GROUP": QUERY_LOG_GROUP,
        "EGRESS_RUN_DOMAIN_LIST_ID": RUN_DOMAIN_LIST_ID,
        "EGRESS_RUN_DOMAINS_ALLOWED": "pypi.example.com,*.corp.example.org",
    }.items():
        monkeypatch.setenv(name, value)
    cfg.reset()
    return fake


@pytest.fixture
def start_run(client: Any, headers: dict[str, str], request: pytest.FixtureRequest):
    """``start_run(**extra)``: POST /v1/runs with the test module's ``VALID`` body plus
    ``extra``; returns (run_id, task_arn)."""

    def start(**extra: Any) -> tuple[str, str]:
        body = json.dumps({**request.module.VALID, **extra}).encode()
        resp = client.http.post("/v1/runs", headers=headers, body=body)
        assert resp.status_code == 202, resp.body
        run_id = resp.json_body["run_id"]
        arn = client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body["task_arn"]
        return run_id, arn

    return start


@pytest.fixture
def get_run(client: Any, headers: dict[str, str]):
    """``get_run(run_id)``: GET /v1/runs/{id}'s body."""
    return lambda run_id: client.http.get(f"/v1/runs/{run_id}", headers=headers).json_body
