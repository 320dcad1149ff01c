"""GitHub repository names and git refs a run may name, checked before they reach the task.

Both end up in the task's environment (``AGENT_REPO_URL``, ``AGENT_REPO_REF``) and on a ``git``
command line inside it, so they are checked strictly here, with one regular expression each
(the OpenAPI document publishes the same patterns):

* ``repo`` is ``OWNER/NAME`` as GitHub allows them: an owner of 1-39 letters, digits and single
  inner hyphens; a name of 1-100 letters, digits, ``.``, ``_`` and ``-`` that is not ``.``/``..``
  and does not end in ``.git`` (GitHub strips it; the URL adds it).
* ``ref`` is a branch, tag or commit: what ``git check-ref-format --allow-onelevel`` accepts,
  narrowed to ``[A-Za-z0-9._/+-]`` (no control characters, space, ``~^:?*[\\@{``), no leading
  ``-`` or ``+`` (read as an option or a forced refspec), no ``..``, no empty, ``.``-leading or
  ``.lock``-ending component, no trailing ``.`` or ``/``, at most 255 characters. A 40-hex
  commit SHA is one such name.
"""

from __future__ import annotations

import re

_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_NAME = r"(?!\.\.?$)(?![A-Za-z0-9._-]*\.git$)[A-Za-z0-9._-]{1,100}"
REPO_RE = re.compile(f"{_OWNER}/{_NAME}")
_COMPONENT = r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*"
REF_RE = re.compile(
    r"(?![-+])(?!.*\.\.)(?!.*\.lock(?:/|$))(?!.*\.$)(?=.{1,255}$)"
    rf"{_COMPONENT}(?:/{_COMPONENT})*"
)
SHA_RE = re.compile(r"[0-9a-f]{40}")
MAX_REF_CHARS = 255


def repo_url(repo: str) -> str:
    """The clone URL the task gets for an ``OWNER/NAME``."""
    return f"https://github.com/{repo}.git"


def canonical_repo(repo: str) -> str:
    """GitHub names are case-insensitive: the allow-list compares lower-case forms."""
    return repo.lower()
