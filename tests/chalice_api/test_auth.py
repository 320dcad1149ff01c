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
from chalicelib import auth
from chalicelib import config as cfg

from tests.support.control_api import KID, Env, Jwks

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
    from chalicelib import aws

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
