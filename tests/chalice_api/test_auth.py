"""Bearer-token auth: real RS256 tokens against the JWKS served on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from chalicelib.core import config as cfg
from chalicelib.http import auth

from tests.support.control_api import JOB_WORKFLOW_REF, KID, REF, Env, Jwks

GENERIC_401 = {"error": {"code": "unauthorized", "message": auth.GENERIC}}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "cloudagent-api",
        "sub": "repo:acme/agents:environment:prod",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    body.update(over)
    return body


def unsigned(alg: str, payload: dict[str, Any], sign: Callable[[bytes], bytes] | None) -> str:
    head = b64(json.dumps({"alg": alg, "kid": KID, "typ": "JWT"}).encode())
    signing_input = f"{head}.{b64(json.dumps(payload).encode())}"
    sig = b64(sign(signing_input.encode())) if sign else ""
    return f"{signing_input}.{sig}"


def get(client: Any, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.http.get("/v1/runs", headers=headers)


def test_valid_token_is_accepted(client: Any, make_token: Callable[..., str]) -> None:
    assert get(client, f"Bearer {make_token()}").status_code == 200
    assert get(client, f"bearer {make_token()}").status_code == 200


def test_second_allowed_subject(client: Any, make_token: Callable[..., str]) -> None:
    token = make_token(sub="repo:acme/agents:environment:staging")
    assert get(client, f"Bearer {token}").status_code == 200


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "empty",
        "basic",
        "no-token",
        "garbage",
        "two-parts",
        "alg-none",
        "hs256-with-public-key",
        "unknown-kid",
        "no-kid",
        "other-key-same-kid",
        "expired",
        "not-yet-valid",
        "wrong-aud",
        "wrong-iss",
        "no-exp",
        "no-sub",
        "tampered-payload",
        "huge",
    ],
)
def test_bad_tokens_are_401_with_a_generic_message(
    client: Any, make_token: Callable[..., str], jwks: Jwks, case: str
) -> None:
    from cryptography.hazmat.primitives import serialization

    now = int(time.time())
    pem = jwks.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = make_token()
    header: str | None = {
        "missing": None,
        "empty": "",
        "basic": "Basic dXNlcjpwYXNz",
        "no-token": "Bearer ",
        "garbage": "Bearer not-a-jwt",
        "two-parts": "Bearer aaa.bbb",
        "alg-none": "Bearer " + unsigned("none", claims(), None),
        "hs256-with-public-key": "Bearer "
        + unsigned("HS256", claims(), lambda m: hmac.new(pem, m, hashlib.sha256).digest()),
        "unknown-kid": "Bearer " + make_token(kid="someone-elses-key"),
        "no-kid": "Bearer " + make_token(kid=None),
        "other-key-same-kid": "Bearer " + make_token(key=jwks.other_key),
        "expired": "Bearer " + make_token(exp=now - 120, iat=now - 600, nbf=now - 600),
        "not-yet-valid": "Bearer " + make_token(nbf=now + 600),
        "wrong-aud": "Bearer " + make_token(aud="sts.amazonaws.com"),
        "wrong-iss": "Bearer " + make_token(iss="https://evil.example.com"),
        "no-exp": "Bearer " + make_token(exp=None),
        "no-sub": "Bearer " + make_token(sub=None),
        "tampered-payload": "Bearer "
        + ".".join(
            [
                good.split(".")[0],
                b64(json.dumps(claims(sub="repo:acme/agents:environment:prod", x=1)).encode()),
                good.split(".")[2],
            ]
        ),
        "huge": "Bearer " + "a" * 20_000,
    }[case]
    resp = get(client, header)
    assert resp.status_code == 401, (case, resp.body)
    assert json.loads(resp.body) == GENERIC_401


def test_small_clock_skew_is_tolerated(client: Any, make_token: Callable[..., str]) -> None:
    now = int(time.time())
    token = make_token(exp=now - 20, iat=now - 300, nbf=now + 20)
    assert get(client, f"Bearer {token}").status_code == 200


@pytest.mark.parametrize(
    "sub",
    [
        "repo:acme/agents:environment:prod-evil",
        "repo:acme/agents:environment:pro",
        "repo:acme/agents:ref:refs/heads/main",
        "repo:ACME/agents:environment:prod",
        "repo:acme/agents:environment:prod ",
        "repo:acme/agents:environment:*",
    ],
)
def test_valid_token_wrong_subject_is_403(
    client: Any, make_token: Callable[..., str], sub: str
) -> None:
    resp = get(client, f"Bearer {make_token(sub=sub)}")
    assert resp.status_code == 403
    assert json.loads(resp.body)["error"]["code"] == "forbidden"
    assert sub not in resp.body.decode()


# -- repository_id (setting github_repository_id) ---------------------------------------------


@pytest.fixture
def repository_id(monkeypatch: pytest.MonkeyPatch, api_env: Env) -> str:
    monkeypatch.setenv("OIDC_REPOSITORY_ID", "123456789")
    cfg.reset()
    return "123456789"


def test_repository_id_must_match_when_configured(
    client: Any, make_token: Callable[..., str], repository_id: str
) -> None:
    assert get(client, f"Bearer {make_token(repository_id=repository_id)}").status_code == 200
    for other in ("987654321", "1234567890", "", 123456789, None):
        resp = get(client, f"Bearer {make_token(repository_id=other)}")
        assert resp.status_code == 401, other  # None: the claim is absent
        assert resp.json_body == GENERIC_401


def test_repository_id_is_not_required_when_unset(
    client: Any, make_token: Callable[..., str]
) -> None:
    assert get(client, f"Bearer {make_token(repository_id='42')}").status_code == 200
    assert get(client, f"Bearer {make_token()}").status_code == 200


@pytest.mark.parametrize("value", ["abc", "12 3", "-1", "1" * 21])
def test_a_malformed_repository_id_setting_is_a_configuration_error(
    api_env: Env, value: str
) -> None:
    with pytest.raises(cfg.ConfigError, match="OIDC_REPOSITORY_ID"):
        cfg.from_env({**api_env.env, "OIDC_REPOSITORY_ID": value})


# -- ref and job_workflow_ref (run-agent.yml on the default branch) ---------------------------


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("ref", None),  # absent
        ("ref", ""),
        ("ref", "refs/heads/feature"),
        ("ref", "refs/heads/main-evil"),
        ("ref", "refs/pull/7/merge"),
        ("ref", "refs/tags/main"),
        ("ref", ["refs/heads/main"]),
        ("job_workflow_ref", None),  # absent
        ("job_workflow_ref", ""),
        ("job_workflow_ref", "acme/agents/.github/workflows/run-agent.yml@refs/heads/feature"),
        ("job_workflow_ref", "acme/agents/.github/workflows/deploy.yml@refs/heads/main"),
        ("job_workflow_ref", "acme/agents/.github/workflows/continue-run.yml@refs/heads/main"),
        ("job_workflow_ref", "evil/agents/.github/workflows/run-agent.yml@refs/heads/main"),
        ("job_workflow_ref", JOB_WORKFLOW_REF + " "),
        ("job_workflow_ref", [JOB_WORKFLOW_REF]),
    ],
)
def test_a_token_from_another_workflow_or_branch_is_a_generic_401(
    client: Any, make_token: Callable[..., str], claim: str, value: Any
) -> None:
    """The subject is right (the environment) but the job is not run-agent.yml on main: the
    environment's branch rule is a GitHub setting this check does not rely on."""
    resp = get(client, f"Bearer {make_token(**{claim: value})}")
    assert resp.status_code == 401, (claim, value)
    assert json.loads(resp.body) == GENERIC_401


def test_the_workflow_and_ref_are_checked_before_the_subject(
    client: Any, make_token: Callable[..., str]
) -> None:
    """A wrong subject from another workflow learns nothing more than any bad token."""
    token = make_token(sub="repo:acme/agents:environment:other", ref="refs/heads/x")
    assert json.loads(get(client, f"Bearer {token}").body) == GENERIC_401


def test_the_origin_check_admits_exactly_the_configured_claims() -> None:
    origin = auth.Origin(ref=REF, job_workflow_refs=frozenset({JOB_WORKFLOW_REF}))
    assert origin.admits({"ref": REF, "job_workflow_ref": JOB_WORKFLOW_REF})
    assert not origin.admits({"ref": REF})
    assert not origin.admits({"job_workflow_ref": JOB_WORKFLOW_REF})
    assert not origin.admits({"ref": "refs/heads/dev", "job_workflow_ref": JOB_WORKFLOW_REF})


@pytest.mark.parametrize("name", ["OIDC_REF", "OIDC_JOB_WORKFLOW_REFS"])
def test_without_the_origin_settings_the_api_is_a_configuration_error(
    api_env: Env, name: str
) -> None:
    env = {k: v for k, v in api_env.env.items() if k != name}
    with pytest.raises(cfg.ConfigError, match=name):
        cfg.from_env(env)


def test_every_protected_route_requires_a_token(client: Any) -> None:
    rid = "run_01J0000000000000000000000A"
    for method, path in [
        ("GET", "/v1/runs"),
        ("POST", "/v1/runs"),
        ("GET", f"/v1/runs/{rid}"),
        ("GET", f"/v1/runs/{rid}/events"),
        ("POST", f"/v1/runs/{rid}/stop"),
        ("POST", "/v1/sessions"),
    ]:
        resp = client.http.request(method, path, headers={"Content-Type": "application/json"})
        assert resp.status_code == 401, (method, path)


def test_jwks_is_fetched_once_and_unknown_kids_do_not_refetch(
    client: Any, make_token: Callable[..., str], jwks: Jwks
) -> None:
    before = len(jwks.hits)
    for _ in range(3):
        assert get(client, f"Bearer {make_token()}").status_code == 200
    for i in range(5):
        assert get(client, f"Bearer {make_token(kid=f'forged-{i}')}").status_code == 401
    assert len(jwks.hits) - before == 1


def test_unreachable_jwks_is_503_not_401(
    client: Any, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OIDC_JWKS_URL", f"http://127.0.0.1:{port}/.well-known/jwks")
    cfg.reset()
    resp = get(client, f"Bearer {make_token()}")
    assert resp.status_code == 503
    assert json.loads(resp.body)["error"]["code"] == "auth_unavailable"


def test_plain_http_jwks_is_refused_off_loopback(
    client: Any, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OIDC_JWKS_URL", "http://example.com/.well-known/jwks")
    cfg.reset()
    assert get(client, f"Bearer {make_token()}").status_code == 503


# -- origin verification (CloudFront's X-Origin-Verify header) -------------------------------


@pytest.fixture
def origin_secret(api_env: Env, monkeypatch: pytest.MonkeyPatch) -> str:
    from chalicelib.core import aws

    value = "s3cr3t-from-cloudfront"
    arn = aws.client("secretsmanager").create_secret(
        Name="cloudagent/test/origin-verify", SecretString=value
    )["ARN"]
    monkeypatch.setenv("ORIGIN_VERIFY_SECRET_ARN", arn)
    cfg.reset()
    return value


def test_direct_calls_without_the_origin_header_are_403(
    client: Any, make_token: Callable[..., str], origin_secret: str
) -> None:
    auth_header = {"Authorization": f"Bearer {make_token()}"}
    for path in ("/v1/health", "/v1/runs", "/v1/openapi.json", "/v1/nope"):
        for extra in ({}, {"X-Origin-Verify": "wrong"}, {"X-Origin-Verify": ""}):
            resp = client.http.get(path, headers={**auth_header, **extra})
            if path == "/v1/nope":
                assert resp.status_code in (403, 404)
                continue
            assert resp.status_code == 403, (path, extra)
            assert json.loads(resp.body)["error"]["code"] == "forbidden"


def test_calls_through_cloudfront_pass(
    client: Any, make_token: Callable[..., str], origin_secret: str
) -> None:
    h = {"X-Origin-Verify": origin_secret}
    assert client.http.get("/v1/health", headers=h).status_code == 200
    h["Authorization"] = f"Bearer {make_token()}"
    assert client.http.get("/v1/runs", headers=h).status_code == 200


def test_origin_check_fails_closed_without_its_secret(
    client: Any, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither ORIGIN_VERIFY_SECRET_ARN nor ORIGIN_VERIFY=off: every route answers 403."""
    monkeypatch.delenv("ORIGIN_VERIFY")
    cfg.reset()
    auth_header = {"Authorization": f"Bearer {make_token()}"}
    for path in ("/v1/health", "/v1/runs", "/v1/openapi.json"):
        for extra in ({}, {"X-Origin-Verify": "anything"}):
            resp = client.http.get(path, headers={**auth_header, **extra})
            assert resp.status_code == 403, (path, extra)
            assert json.loads(resp.body)["error"]["code"] == "forbidden"
    resp = client.http.post(
        "/v1/runs",
        headers={**auth_header, "Content-Type": "application/json"},
        body=json.dumps({"prompt": "p", "provider": "openai", "model": "m"}).encode(),
    )
    assert resp.status_code == 403


def test_origin_check_off_only_when_said_explicitly(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.http.get("/v1/health").status_code == 200  # conftest: ORIGIN_VERIFY=off
    for value in ("on", "false", "0", "OFF", "no"):
        monkeypatch.setenv("ORIGIN_VERIFY", value)
        cfg.reset()
        resp = client.http.get("/v1/health")
        assert resp.status_code == 500, value
        assert "ORIGIN_VERIFY" in resp.json_body["error"]["message"]


def test_origin_check_off_does_not_override_a_configured_secret(
    client: Any, origin_secret: str
) -> None:
    assert cfg.get().origin_verify_off is True
    assert client.http.get("/v1/health").status_code == 403
    assert (
        client.http.get("/v1/health", headers={"X-Origin-Verify": origin_secret}).status_code == 200
    )
