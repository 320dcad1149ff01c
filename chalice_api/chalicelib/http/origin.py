"""Origin verification: only requests that came through CloudFront reach the API.

CloudFront adds ``X-Origin-Verify: <secret>`` to every origin request; the value lives in
Secrets Manager (``ORIGIN_VERIFY_SECRET_ARN``, SecretString used verbatim). A request to the
execute-api endpoint directly lacks it and gets a 403. The value is cached for five minutes so
a rotation takes effect without a redeploy; while the old and new values overlap, rotate
CloudFront first, then the secret (the cache briefly accepts only the old value).

The check fails CLOSED: without ``ORIGIN_VERIFY_SECRET_ARN`` every request is refused, unless
``ORIGIN_VERIFY=off`` says explicitly that there is no edge (tests and local tooling only; the
stacks never set it, and a test of the synthesized api stack keeps it so).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time

from ..core import aws
from ..core.errors import ApiError, Forbidden

log = logging.getLogger(__name__)

HEADER = "X-Origin-Verify"
CACHE_SECONDS = 300


class OriginUnavailable(ApiError):
    """The shared secret could not be read; fail closed."""

    status, code = 503, "unavailable"


_lock = threading.Lock()
_cache: dict[str, tuple[float, bytes]] = {}


def _secret(arn: str) -> bytes:
    with _lock:
        hit = _cache.get(arn)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    try:
        value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    except Exception as exc:
        log.error("cannot read origin-verify secret: %s", aws.error_code(exc) or type(exc).__name__)
        raise OriginUnavailable("service temporarily unavailable") from None
    if not value:
        raise OriginUnavailable("service temporarily unavailable")
    secret = value.encode()
    with _lock:
        _cache[arn] = (time.monotonic(), secret)
    return secret


def check(secret_arn: str | None, header_value: str | None, *, off: bool = False) -> None:
    """Raise Forbidden unless the request carries the right origin header.

    ``secret_arn`` None: refused, unless ``off`` (``ORIGIN_VERIFY=off``) disables the check.
    """
    if secret_arn is None:
        if off:
            return
        log.error("ORIGIN_VERIFY_SECRET_ARN is not set: refusing every request (fail closed)")
        raise Forbidden("direct access to this API is not allowed")
    expected = _secret(secret_arn)
    given = (header_value or "").encode("utf-8", "surrogatepass")
    if not given or not hmac.compare_digest(given, expected):
        raise Forbidden("direct access to this API is not allowed")


def reset() -> None:
    """Forget the cached secret (tests)."""
    with _lock:
        _cache.clear()
