"""Run ids: ``run_`` + a 26-character ULID (48-bit millisecond time + 80 random bits).

30 characters fit ECS's 36-character ``startedBy``, sort by creation time, and have one exact
shape so a path parameter that does not match it can be refused without touching DynamoDB.
"""

from __future__ import annotations

import re
import secrets
import time

RUN_ID_RE = re.compile(r"run_[0-9A-HJKMNP-TV-Z]{26}")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def new_run_id(now_ms: int | None = None) -> str:
    """A new, time-ordered run id."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "run_" + "".join(reversed(chars))
