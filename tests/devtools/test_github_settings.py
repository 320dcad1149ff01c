"""The workflows' settings step forwards every setting and refuses what is not one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from devtools.github_settings import settings_environment, subject_problem, token_claims
from stacks.shared.setting_loader import SettingsError, load_settings, specs
from toolchain.paths import PROJECT_ROOT


def test_every_setting_variable_is_forwarded() -> None:
    variables = {spec.env_var: f"value-{spec.name}" for spec in specs()}
    assert settings_environment(variables, "org/repo") == variables


def test_the_repository_is_the_default_github_repo() -> None:
    assert settings_environment({}, "my-org/agents") == {"CLOUDAGENT_GITHUB_REPO": "my-org/agents"}
    pinned = {"CLOUDAGENT_GITHUB_REPO": "my-org/other"}
    assert settings_environment(pinned, "my-org/agents") == pinned


def test_the_running_repositorys_id_is_pinned() -> None:
    assert settings_environment({}, "my-org/agents", "42") == {
        "CLOUDAGENT_GITHUB_REPO": "my-org/agents",
        "CLOUDAGENT_GITHUB_REPOSITORY_ID": "42",
    }
    same = {"CLOUDAGENT_GITHUB_REPOSITORY_ID": "42"}
    assert (
        settings_environment(same, "my-org/agents", "42")["CLOUDAGENT_GITHUB_REPOSITORY_ID"] == "42"
    )
    # Another repository named by a variable: the running one's id is not its id.
    other = {"CLOUDAGENT_GITHUB_REPO": "my-org/other"}
    assert settings_environment(other, "my-org/agents", "42") == other


def test_a_pinned_id_of_another_repository_is_refused() -> None:
    """The variable pins the id of the repository that was; this one is a re-creation."""
    with pytest.raises(SettingsError, match="re-created"):
        settings_environment({"CLOUDAGENT_GITHUB_REPOSITORY_ID": "41"}, "my-org/agents", "42")


def test_unknown_variable_and_multiline_value_are_refused() -> None:
    with pytest.raises(SettingsError, match="CLOUDAGENT_NAT_GATEWAYS"):
        settings_environment({"CLOUDAGENT_NAT_GATEWAYS": "2"}, None)
    with pytest.raises(SettingsError, match="one line"):
        settings_environment({"CLOUDAGENT_ENV_NAME": "dev\nCLOUDAGENT_X=1"}, None)


def test_what_the_step_writes_is_what_synth_reads() -> None:
    variables = {
        "CLOUDAGENT_MAX_CONCURRENT_RUNS": "7",
        "CLOUDAGENT_AGENT_IMAGE_TAG": "abc123",
        "CLOUDAGENT_PLAN_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
        "OTHER": "ignored",
    }
    result = subprocess.run(
        [sys.executable, "-m", "devtools.github_settings"],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "VARS_JSON": json.dumps(variables),
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_REPOSITORY_ID": "4242",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    written = dict(line.split("=", 1) for line in result.stdout.splitlines())
    settings = load_settings(environ=written)
    assert (settings.max_concurrent_runs, settings.agent_image_tag) == (7, "abc123")
    assert (settings.github_repo, settings.github_repository_id) == ("o/r", "4242")


# -- the repository's OIDC subject template, read from this job's own token --------------------

WORKFLOWS = "my-org/agents/.github/workflows"
DEPLOY_JOB = {
    "repository": "my-org/agents",
    "environment": "prod",
    "event_name": "push",
    "ref": "refs/heads/main",
    "job_workflow_ref": f"{WORKFLOWS}/apply-stack.yml@refs/heads/main",
}
PLAN_JOB = {
    "repository": "my-org/agents",
    "event_name": "pull_request",
    "ref": "refs/pull/7/merge",
    "job_workflow_ref": f"{WORKFLOWS}/plan.yml@refs/pull/7/merge",
}
WITH_TEMPLATE = {
    "deploy": f"repo:my-org/agents:environment:prod:job_workflow_ref:{WORKFLOWS}"
    "/apply-stack.yml@refs/heads/main",
    "plan": f"repo:my-org/agents:pull_request:job_workflow_ref:{WORKFLOWS}"
    "/plan.yml@refs/pull/7/merge",
}
DEFAULT = {
    "deploy": "repo:my-org/agents:environment:prod",
    "plan": "repo:my-org/agents:pull_request",
}


@pytest.mark.parametrize("job", ["deploy", "plan"])
def test_a_token_of_the_configured_template_passes(job: str) -> None:
    claims = DEPLOY_JOB if job == "deploy" else PLAN_JOB
    assert (
        subject_problem({**claims, "sub": WITH_TEMPLATE[job]}, "workflow", "my-org/agents") is None
    )
    assert subject_problem({**claims, "sub": DEFAULT[job]}, "default", "my-org/agents") is None


@pytest.mark.parametrize("job", ["deploy", "plan"])
def test_a_repository_left_on_another_template_is_refused_with_the_fix(job: str) -> None:
    claims = DEPLOY_JOB if job == "deploy" else PLAN_JOB
    problem = subject_problem({**claims, "sub": DEFAULT[job]}, "workflow", "my-org/agents")
    assert problem and "job_workflow_ref" in problem
    assert "gh api -X PUT repos/my-org/agents/actions/oidc/customization/sub" in problem
    assert '"include_claim_keys": ["repo", "context", "job_workflow_ref"]' in problem
    problem = subject_problem({**claims, "sub": WITH_TEMPLATE[job]}, "default", "my-org/agents")
    assert problem and '"use_default": true' in problem
    # GitHub's immutable subjects (owner and repository ids in `repo:`) are not what is trusted.
    immutable = WITH_TEMPLATE[job].replace("repo:my-org/agents", "repo:my-org@1/agents@2", 1)
    assert subject_problem({**claims, "sub": immutable}, "workflow", "my-org/agents")


@pytest.fixture
def token_server() -> Iterator[tuple[str, list, dict]]:
    """GitHub's token endpoint as a job sees it: serves a token with the claims in `claims`."""
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str | None]] = []
    claims: dict = {"sub": "x"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
            body = json.dumps({"value": f"e30.{payload.decode()}.sig"}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0", seen, claims
    finally:
        server.shutdown()


def test_the_step_reads_its_own_token_for_an_audience_nobody_trusts(token_server) -> None:
    url, seen, _ = token_server
    assert token_claims(url, "request-token") == {"sub": "x"}
    assert seen == [
        ("/token?api-version=2.0&audience=cloudagent-subject-check", "bearer request-token")
    ]


@pytest.mark.parametrize(("sub", "code"), [(WITH_TEMPLATE["deploy"], 0), (DEFAULT["deploy"], 2)])
def test_the_step_fails_in_a_job_whose_subject_the_roles_do_not_trust(token_server, sub, code):
    url, _, claims = token_server
    claims.update({**DEPLOY_JOB, "sub": sub})
    result = subprocess.run(
        [sys.executable, "-m", "devtools.github_settings"],
        cwd=PROJECT_ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("CLOUDAGENT_")},
            "VARS_JSON": "{}",
            "GITHUB_REPOSITORY": "my-org/agents",
            "GITHUB_REPOSITORY_ID": "42",
            "ACTIONS_ID_TOKEN_REQUEST_URL": url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == code, result.stderr
    if code:
        assert "customization/sub" in result.stderr
