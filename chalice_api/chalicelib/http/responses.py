"""Responses: the JSON response every route sends, and errors turned into it.

Every error leaves as ``{"error": {"code", "message"}}``: an ``ApiError`` with its own 4xx
(or 5xx) status, a configuration error as 500 ``configuration_error`` with the setting's name,
anything else as 500 ``internal_error`` - logged here, never a stack trace in the response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from ..core.config import ConfigError
from ..core.errors import ApiError, error_body

SECURITY_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
# Chalice's own error codes (415, 405, its 500 fallback) -> ours.
CHALICE_ERRORS = {
    "BadRequestError": "bad_request",
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """``body`` as compact JSON with the security headers."""
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def answering_errors(call: Callable[[], Any], log: logging.Logger, where: str = "") -> Any:
    """``call()``'s value, or the JSON error response for what it raised."""
    try:
        return call()
    except ApiError as exc:
        return json_response(exc.status, exc.body())
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return json_response(500, error_body("configuration_error", str(exc)))
    except Exception:
        log.exception("unhandled error%s", where)
        return json_response(500, error_body("internal_error", "internal error"))


def in_our_shape(response: Response) -> Response:
    """A response Chalice made itself (``{"Code", "Message"}``) in the one error shape."""
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    code = CHALICE_ERRORS.get(str(body["Code"]), "error")
    message = str(body["Message"]) if response.status_code < 500 else "internal error"
    return json_response(response.status_code, error_body(code, message), response.headers)
