"""Can a repository token push? Asked of GitHub before the admin function stores the token.

The clone token reaches only the clone container, yet a token that can push would let a run
(or anyone who got it) write to the repositories; the project's promise is a read-only clone
token. GitHub answers the start of a push, ``GET <repo>.git/info/refs?service=git-receive-pack``,
with 200 only to a credential that may push; 401, 403 and 404 mean it may not (or cannot see
the repository). Nothing is pushed: the request only opens the ref advertisement.

Without network (or when GitHub does not answer in time) the check is skipped and says why:
the token is still a fine-grained one, but nothing proved it read-only. Redirects are not
followed, so the credential is only ever sent to GitHub's host. The base URL is a module
constant (tests point it at a server on 127.0.0.1); nothing in a request can change it.
urllib (with http.client and ssl, ~20 ms) is imported on the first check, not with the app.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

GITHUB_URL = "https://github.com"
TIMEOUT_SECONDS = 5.0
CANNOT_PUSH = (401, 403, 404)


@dataclass(frozen=True)
class PushCheck:
    """The outcome: the first repository the token can push to (refuse), or the repositories
    checked, or why the check was skipped."""

    can_push: str | None = None
    checked: list[str] = field(default_factory=list)
    skipped: str | None = None


def _opener() -> Any:
    """An opener that answers a 3xx as it is: the credential stays with this host."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def _status(url: str, token: str) -> int:
    """The HTTP status GitHub answers (raises OSError when it cannot be reached)."""
    import urllib.error
    import urllib.request

    credential = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    request = urllib.request.Request(
        url,
        headers={"Authorization": f"Basic {credential}", "User-Agent": "cloudagent-admin"},
    )
    try:
        with _opener().open(request, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def check(token: str, repos: list[str], base_url: str | None = None) -> PushCheck:
    """Ask GitHub, for each repository (``owner/name``), whether ``token`` may push to it."""
    import http.client

    if not repos:
        return PushCheck(skipped="no repository in the setting allowed_repos to check")
    base = (base_url or GITHUB_URL).rstrip("/")
    checked: list[str] = []
    for repo in repos:
        url = f"{base}/{repo}.git/info/refs?service=git-receive-pack"
        try:
            status = _status(url, token)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # no DNS, refused, ...
            reason = getattr(exc, "reason", None) or exc
            return PushCheck(
                checked=checked,
                skipped=f"GitHub could not be reached ({type(exc).__name__}: {str(reason)[:120]})",
            )
        if status == 200:
            return PushCheck(can_push=repo, checked=checked)
        if status not in CANNOT_PUSH:
            return PushCheck(checked=checked, skipped=f"GitHub answered HTTP {status} for {repo}")
        checked.append(repo)
    return PushCheck(checked=checked)
