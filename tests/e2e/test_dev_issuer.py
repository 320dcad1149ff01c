"""The development issuer of `make up` never reaches a synthesized stack or shipped code.

`make up` overrides OIDC_ISSUER/OIDC_JWKS_URL/OIDC_ALLOWED_SUBJECTS only in the local server's
environment. These checks make sure nothing of it can leak the other way: no synthesized stack
(local or S3 backend) mentions a loopback URL or the development subject, every control
function pins GitHub's issuer, and neither `stacks/` nor `chalice_api/` imports `devtools`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from devtools.local.api_server import LOCAL_OVERRIDES
from devtools.local.oidc import DEV_JOB_WORKFLOW_REF, DEV_REF, DEV_SUBJECT, DevIssuer
from stacks.shared.constants import GITHUB_OIDC_ISSUER, MODEL_PROXY_PORT
from tests.support.control_api import APP_DIR
from toolchain.paths import PROJECT_ROOT

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
# The one loopback address a stack may name: the model proxy inside the agent's own task.
TASK_PROXY_URL = f"http://127.0.0.1:{MODEL_PROXY_PORT}"


@pytest.mark.parametrize("which", ["stacks", "s3_stacks"])
def test_no_synthesized_stack_mentions_the_dev_issuer(which: str, request) -> None:
    stacks: dict[str, dict] = request.getfixturevalue(which)
    for name, doc in stacks.items():
        text = json.dumps(doc).replace(TASK_PROXY_URL, "")
        assert DEV_SUBJECT not in text, name
        assert not [host for host in LOOPBACK if host in text], name


def test_every_control_function_pins_githubs_issuer(stacks: dict[str, dict]) -> None:
    functions = stacks["api"]["resource"]["aws_lambda_function"].values()
    for function in functions:
        variables = function["environment"]["variables"]
        assert variables["OIDC_ISSUER"] == GITHUB_OIDC_ISSUER
        assert variables["OIDC_JWKS_URL"] == f"{GITHUB_OIDC_ISSUER}/.well-known/jwks"
        assert variables["OIDC_ALLOWED_SUBJECTS"].startswith("repo:")
        assert variables["OIDC_ALLOWED_SUBJECTS"] != DEV_SUBJECT
        assert variables["OIDC_JOB_WORKFLOW_REFS"] != DEV_JOB_WORKFLOW_REF
        assert variables["OIDC_REF"] == "refs/heads/main"


@pytest.mark.parametrize("package", ["stacks", "chalice_api"])
def test_shipped_code_never_imports_devtools(package: str) -> None:
    for path in (PROJECT_ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] == "devtools"], path


def test_dev_tokens_are_github_shaped_but_not_githubs(tmp_path: Path) -> None:
    """The real verifier would refuse a dev token against the deployed (GitHub) issuer."""
    import jwt

    issuer = DevIssuer.load("http://127.0.0.1:9", tmp_path / "key.pem")
    token = issuer.token("cloudagent-dev")
    claims = jwt.decode(
        token, issuer.key.public_key(), algorithms=["RS256"], audience="cloudagent-dev"
    )
    assert claims["iss"] == "http://127.0.0.1:9" != GITHUB_OIDC_ISSUER
    assert claims["sub"] == DEV_SUBJECT
    # The claims the API requires of a job: run-agent.yml on the default branch.
    assert (claims["ref"], claims["job_workflow_ref"]) == (DEV_REF, DEV_JOB_WORKFLOW_REF)
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0  # the key is private to its owner
    assert jwt.get_unverified_header(token)["kid"] == issuer.jwks()["keys"][0]["kid"]


def test_a_dev_token_passes_the_real_verifier_as_make_up_serves_it(tmp_path: Path) -> None:
    """The local server's overrides and the development token agree on every checked claim."""
    import sys

    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    from chalicelib.http import auth

    assert {"OIDC_REF", "OIDC_JOB_WORKFLOW_REFS"} <= set(LOCAL_OVERRIDES)
    issuer = DevIssuer.load("http://127.0.0.1:9", tmp_path / "key.pem")

    class Keys(auth.JwksCache):
        def key(self, kid: str):
            return issuer.key.public_key() if kid == issuer.kid else None

    origin = auth.Origin(ref=DEV_REF, job_workflow_refs=frozenset({DEV_JOB_WORKFLOW_REF}))
    verifier = auth.Verifier(
        issuer.url, "cloudagent-dev", frozenset({DEV_SUBJECT}), Keys(""), None, origin
    )
    assert verifier.verify(issuer.token("cloudagent-dev")).subject == DEV_SUBJECT
    with pytest.raises(auth.Unauthorized):
        verifier.verify(issuer.token("cloudagent-dev", ref="refs/heads/feature"))
