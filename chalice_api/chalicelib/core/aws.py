"""Lazily created boto3 clients, one per service per Lambda container.

boto3 is imported on first use, not at module import: importing it costs ~100 ms and most
invocations of a warm container never pay it again. Tests call :func:`reset` after starting
moto, because a client created before the mock starts talks to real AWS.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_session: Any = None
# Re-entrant: client() holds it while session() creates the session on a cold start.
_lock = threading.RLock()


def session() -> Any:
    """One boto3 Session per container: boto3's implicit default session is not thread-safe,
    and keeping one session keeps its loaded service models for every client made from it."""
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                import boto3

                _session = boto3.session.Session()
    return _session


def client(service: str, *, s3: dict[str, str] | None = None, signature: str | None = None) -> Any:
    """The shared boto3 client for ``service`` (thread-safe creation).

    ``s3`` (botocore's S3 options, e.g. the addressing style) and ``signature`` (its
    ``signature_version``) make a client of their own, cached under them: the presigning
    S3 client must not change how any other client talks to AWS.
    """
    key = (
        service
        if s3 is None and signature is None
        else f"{service}:{sorted((s3 or {}).items())}:{signature}"
    )
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            from botocore.config import Config

            options: dict[str, Any] = {}
            if s3 is not None:
                options["s3"] = dict(s3)
            if signature is not None:
                options["signature_version"] = signature
            found = session().client(
                service,
                config=Config(
                    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, **options
                ),
            )
            _clients[key] = found
    return found


class LazyClient:
    """A class attribute of the thin adapters: the client a test injected (``self._client``),
    else the shared one for ``service``, created on first use so an import stays cheap."""

    def __init__(self, service: str):
        self.service = service

    def __get__(self, adapter: Any, owner: type | None = None) -> Any:
        if adapter is None:
            return self
        if adapter._client is None:
            adapter._client = client(self.service)
        return adapter._client


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def reset(*, new_session: bool = False) -> None:
    """Drop cached clients (tests: after the AWS mock starts or the environment changes)."""
    global _session
    with _lock:
        _clients.clear()
        if new_session:
            _session = None
