"""API errors: one JSON shape, ``{"error": {"code", "message"}}``, and never a stack trace."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the client may see; the message must be safe to show to an attacker."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        """The JSON body for this error."""
        return error_body(self.code, self.message)


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class TooManyRuns(ApiError):
    status, code = 429, "concurrency_limit"


class VcpuQuotaReached(ApiError):
    """ECS refused the task for the account's Fargate vCPU quota (admin action ``preflight``)."""

    status, code = 429, "fargate_vcpu_quota"


class Busy(ApiError):
    """The request collided with other writes too often to be recorded; nothing was written,
    and the same request may simply be sent again."""

    status, code = 503, "busy"


def error_body(code: str, message: str) -> dict[str, Any]:
    """The single error shape every non-2xx response uses."""
    return {"error": {"code": code, "message": message}}
