"""GitHub Actions OIDC bearer-token verification (RS256 against the issuer's JWKS).

PyJWT does the signature and claim checks; this module only decides which key and which
claims. Design choices:

* the algorithm is pinned to RS256 before any key is looked up (no ``none``, no HS256 with the
  public key as secret);
* the JWKS is cached for ten minutes; an unknown ``kid`` triggers at most one refetch a minute,
  so a flood of forged kids cannot turn this Lambda into a JWKS-fetching amplifier;
* every failure gives the same generic 401 message, except a valid token whose ``sub`` is not
  allowed (403) - the client learns nothing that helps forge a token;
* with a repository id configured (``OIDC_REPOSITORY_ID``), the token's ``repository_id``
  claim must equal it as a string, else the generic 401: a repository deleted and re-created
  under the same name (same ``sub``, new id) is not trusted;
* the token's ``ref`` must equal ``OIDC_REF`` (the default branch) and its ``job_workflow_ref``
  be one of ``OIDC_JOB_WORKFLOW_REFS`` (run-agent.yml on that branch), else the generic 401:
  the environment's subject alone would admit any workflow file, from any branch the
  environment's branch rule lets through, so this check does not rest on that GitHub setting;
* ``jwt`` and ``cryptography`` are imported on first use to keep the handler import cheap.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..core.errors import ApiError, Forbidden, Unauthorized

log = logging.getLogger(__name__)

LEEWAY_SECONDS = 60
JWKS_TTL_SECONDS = 600
JWKS_MIN_REFRESH_SECONDS = 60
JWKS_MAX_BYTES = 256 * 1024
MAX_TOKEN_CHARS = 8192
GENERIC = "invalid or missing bearer token"


class AuthUnavailable(ApiError):
    """The JWKS could not be fetched: the caller may be fine, so this is not a 401."""

    status, code = 503, "auth_unavailable"


@dataclass(frozen=True)
class Origin:
    """Where a token must come from: the job's ``ref`` and its workflow file at that ref."""

    ref: str
    job_workflow_refs: frozenset[str]

    def admits(self, claims: dict[str, Any]) -> bool:
        """Both claims present, strings, and exactly the configured values."""
        ref, workflow = claims.get("ref"), claims.get("job_workflow_ref")
        return (
            isinstance(ref, str)
            and isinstance(workflow, str)
            and ref == self.ref
            and workflow in self.job_workflow_refs
        )


@dataclass(frozen=True)
class Principal:
    """Who called: the token's subject (``repo:ORG/REPO:environment:ENV``)."""

    subject: str


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise AuthUnavailable("authentication is not configured correctly")


class JwksCache:
    """Fetches and caches the signing keys of one JWKS URL."""

    def __init__(self, url: str, timeout: float = 3.0):
        self.url = url
        self.timeout = timeout
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        import jwt

        _check_url(self.url)
        try:
            req = urllib.request.Request(self.url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read(JWKS_MAX_BYTES + 1)
            if len(raw) > JWKS_MAX_BYTES:
                raise ValueError("JWKS too large")
            data = json.loads(raw)
            entries = data["keys"]
            if not isinstance(entries, list):
                raise ValueError("JWKS keys is not a list")
        except Exception as exc:
            log.warning("JWKS fetch from %s failed: %s", self.url, type(exc).__name__)
            raise AuthUnavailable("authentication is temporarily unavailable") from None
        keys: dict[str, Any] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA":
                continue
            if entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str):
                continue
            try:
                keys[kid] = jwt.PyJWK(entry, algorithm="RS256").key
            except Exception:  # a malformed key in the set must not break the others
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()

    def key(self, kid: str) -> Any | None:
        """The public key for ``kid``, refreshing the set when stale or when kid is unknown."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if (
                not self._fetched_at
                or age > JWKS_TTL_SECONDS
                or (kid not in self._keys and age > JWKS_MIN_REFRESH_SECONDS)
            ):
                self._fetch()
            return self._keys.get(kid)


class Verifier:
    """Verifies bearer tokens for one issuer/audience/subject set."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        subjects: frozenset[str],
        jwks: JwksCache,
        repository_id: str | None,
        origin: Origin,
    ):
        self.issuer = issuer
        self.audience = audience
        self.subjects = subjects
        self.jwks = jwks
        self.repository_id = repository_id
        self.origin = origin

    def verify_header(self, authorization: str | None) -> Principal:
        """Check an ``Authorization`` header value; raises Unauthorized/Forbidden."""
        if not authorization or len(authorization) > MAX_TOKEN_CHARS + 16:
            raise Unauthorized(GENERIC)
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(GENERIC)
        return self.verify(token.strip())

    def verify(self, token: str) -> Principal:
        """Verify one compact JWS; returns the caller on success."""
        import jwt

        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
            raise Unauthorized(GENERIC)
        try:
            header = jwt.get_unverified_header(token)
        except Exception:
            raise Unauthorized(GENERIC) from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str) or not 0 < len(kid) <= 256:
            raise Unauthorized(GENERIC)
        key = self.jwks.key(kid)
        if key is None:
            raise Unauthorized(GENERIC)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
            )
        except Exception:
            raise Unauthorized(GENERIC) from None
        if self.repository_id is not None and claims.get("repository_id") != self.repository_id:
            raise Unauthorized(GENERIC)  # GitHub sends it as a string; an int does not match
        if not self.origin.admits(claims):
            raise Unauthorized(GENERIC)  # another workflow file or branch: same answer
        subject = claims.get("sub")
        if not isinstance(subject, str) or subject not in self.subjects:
            raise Forbidden("this identity is not allowed to use the API")
        return Principal(subject=subject)


_verifiers: dict[tuple[str, str, str, frozenset[str], str | None, Origin], Verifier] = {}
_lock = threading.Lock()


def verifier_for(
    issuer: str,
    jwks_url: str,
    audience: str,
    subjects: frozenset[str],
    repository_id: str | None,
    origin: Origin,
) -> Verifier:
    """One cached verifier (and JWKS cache) per configuration for the container's life."""
    key = (issuer, jwks_url, audience, subjects, repository_id, origin)
    with _lock:
        found = _verifiers.get(key)
        if found is None:
            jwks = JwksCache(jwks_url)
            found = Verifier(issuer, audience, subjects, jwks, repository_id, origin)
            _verifiers[key] = found
        return found


def reset() -> None:
    """Drop cached verifiers and keys (tests)."""
    with _lock:
        _verifiers.clear()
