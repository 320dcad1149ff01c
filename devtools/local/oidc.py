"""The development OIDC issuer of `make up`: its own RSA key, a JWKS on 127.0.0.1, tokens.

The deployed API trusts only GitHub's issuer (the api stack pins it;
tests/stacks/api/test_api_stack.py and tests/e2e/test_embedded_aws.py prove it). Locally there
is no GitHub to mint tokens, so `make up` serves the API with `OIDC_ISSUER`/`OIDC_JWKS_URL`/
`OIDC_ALLOWED_SUBJECTS` pointing here instead (and `OIDC_REF`/`OIDC_JOB_WORKFLOW_REFS` at the
development values below) - only in the local server's environment, never in a synthesized
stack. The key is generated on the first `make up`, kept (0600) under `.local/` and removed by
`make down`.
Tokens carry the same claims a GitHub Actions token does, so the real verifier checks them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# GitHub-shaped, but visibly not a real repository: a token for it is useless anywhere else.
DEV_SUBJECT = "repo:local/cloudagent:environment:local-dev"
# The job a development token stands for: run-agent.yml on the default branch, as the deployed
# API requires of GitHub's tokens (`ref`, `job_workflow_ref`).
DEV_REF = "refs/heads/main"
DEV_JOB_WORKFLOW_REF = f"local/cloudagent/.github/workflows/run-agent.yml@{DEV_REF}"
JWKS_PATH = "/.well-known/jwks"
CONFIG_PATH = "/.well-known/openid-configuration"


def load_or_create_key(path: Path) -> Any:
    """The issuer's RSA private key, generated once per `make up` directory."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


@dataclass(frozen=True)
class DevIssuer:
    """One issuer URL and its signing key."""

    url: str
    key: Any

    @classmethod
    def load(cls, url: str, key_file: Path) -> DevIssuer:
        return cls(url=url.rstrip("/"), key=load_or_create_key(key_file))

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    @property
    def kid(self) -> str:
        numbers = self.key.public_key().public_numbers()
        return hashlib.sha256(f"{numbers.n}:{numbers.e}".encode()).hexdigest()[:16]

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
        }

    def token(
        self, audience: str, subject: str = DEV_SUBJECT, ttl_seconds: int = 3600, **claims: Any
    ) -> str:
        """An RS256 token shaped like a GitHub Actions OIDC token."""
        import jwt

        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now - 5,
            "exp": now + ttl_seconds,
            "repository": subject.split(":")[1] if subject.count(":") >= 2 else "local/dev",
            "environment": subject.rsplit(":", 1)[-1],
            "ref": DEV_REF,
            "job_workflow_ref": DEV_JOB_WORKFLOW_REF,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})

    def documents(self) -> dict[str, bytes]:
        """Path -> body of what the issuer serves."""
        return {
            JWKS_PATH: json.dumps(self.jwks()).encode(),
            CONFIG_PATH: json.dumps(self.openid_configuration()).encode(),
        }
