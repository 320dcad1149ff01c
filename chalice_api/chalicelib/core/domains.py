"""DNS names a run may add to the egress allow-list for itself (``egress_domains``).

A run names concrete hosts (``pypi.example.com``) or wildcards (``*.example.com``); each must
be covered by an entry of the deployment's setting ``egress_run_domains_allowed``
(``EGRESS_RUN_DOMAINS_ALLOWED``): equal to it, or below a ``*.domain`` entry. Like DNS
Firewall itself, ``*.example.com`` covers names below ``example.com`` but not ``example.com``.

Pure functions only (no AWS): ``http/validation.py`` checks the request's shape,
``runs/lifecycle.py`` checks it against the setting, ``config.py`` parses the setting, all with
the same pattern.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import BadRequest

# The pattern of the setting's entries (stacks/shared/setting_fields.py ``_DOMAIN``; a test
# keeps the two equal - chalice_api never imports stacks/): lowercase labels, a TLD of
# letters, optionally one leading ``*.``. DNS Firewall accepts exactly these characters.
DOMAIN_RE = re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
DOMAIN_MAX_CHARS = 253
MAX_RUN_DOMAINS = 20
SETTING = "egress_run_domains_allowed (EGRESS_RUN_DOMAINS_ALLOWED)"
DISABLED = f"per-run egress domains are disabled (setting {SETTING} is empty)"


def is_domain(value: Any) -> bool:
    """A lowercase DNS name or ``*.`` wildcard of at most 253 characters."""
    return (
        isinstance(value, str)
        and len(value) <= DOMAIN_MAX_CHARS
        and bool(DOMAIN_RE.fullmatch(value))
    )


def parse_request(value: Any) -> tuple[str, ...]:
    """The request's ``egress_domains``: 1-20 distinct names; returned sorted (a stable
    idempotency hash whatever the order). 400 naming the field otherwise."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_RUN_DOMAINS:
        raise BadRequest(f"egress_domains must be a list of 1 to {MAX_RUN_DOMAINS} domain names")
    for item in value:
        if not is_domain(item):
            shown = repr(item)[:80]
            raise BadRequest(
                f"egress_domains entry {shown} is not a lowercase domain name "
                "(example.com or *.example.com)"
            )
    if len(set(value)) != len(value):
        raise BadRequest("egress_domains must not repeat a name")
    return tuple(sorted(value))


def covered(name: str, entry: str) -> bool:
    """Whether the allowed ``entry`` covers the requested ``name``."""
    if name == entry:
        return True
    if not entry.startswith("*."):
        return False
    bare = name[2:] if name.startswith("*.") else name
    return bare.endswith("." + entry[2:])


def check_allowed(requested: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    """Every requested name is covered by the setting; 400 naming the first one that is not."""
    if not requested:
        return
    if not allowed:
        raise BadRequest(DISABLED)
    for name in requested:
        if not any(covered(name, entry) for entry in allowed):
            raise BadRequest(f"egress_domains entry {name} is not covered by the setting {SETTING}")


def normalize(name: str) -> str:
    """A name as DNS Firewall may return or log it (any case, trailing dot) in our form."""
    return name.strip().rstrip(".").lower()
