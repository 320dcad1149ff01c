"""Page tokens: a DynamoDB LastEvaluatedKey as an opaque string for ``next_token``, and back."""

from __future__ import annotations

import base64
import binascii
import json
import re

from ..core.errors import BadRequest


def encode_token(key: dict[str, str]) -> str:
    """Opaque page token for a DynamoDB LastEvaluatedKey of plain strings."""
    raw = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, keys: set[str]) -> dict[str, str] | None:
    """Inverse of encode_token; a token of any other shape is a 400, never passed to DynamoDB."""
    if token is None:
        return None
    bad = BadRequest("next_token is not valid")
    if len(token) > 1024 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise bad from None
    if (
        not isinstance(data, dict)
        or set(data) != keys
        or not all(isinstance(v, str) and 0 < len(v) <= 256 for v in data.values())
    ):
        raise bad
    return data
