"""The bundle a continued run starts from: ``continuations/<run_id>.json``.

Built by the control plane from reads only (so a parent that cannot be continued takes no
slot): the patches its parent started from (the parent's own bundle, when the parent is itself a
continuation), the parent's own patch (the assembly ``GET /patch`` serves, up to the agent's
10 MB cap) and the session the parent's agent saved (``sessions/<parent>.jsonl``; without one,
``session`` is null and ``session_note`` says why, and the run continues from the code alone).
The run's repo-init GETs it with a presigned URL, applies and commits each patch in order on
the root commit, and hands the session to the agent (docs/ARCHITECTURE.md §5.1).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from ..cloud.artifacts import (
    ArtifactMissing,
    Artifacts,
    ArtifactTooLarge,
    ArtifactUnreadable,
    bundle_key,
    session_key,
)
from ..cloud.logs import LogReader
from ..core import aws
from ..core.config import ApiConfig
from ..core.errors import ApiError, Conflict
from ..core.gitref import repo_url
from ..core.ids import RUN_ID_RE
from .patches import PatchUnavailable, read_patch

log = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
# What repo-init reads of a bundle at most (image/repo-init); a larger chain cannot continue.
BUNDLE_MAX_BYTES = 64 * 1024 * 1024
# What the agent saves of a session at most (it keeps a prefix of whole lines); a larger
# object was not written by a well-behaved agent and is not read.
SESSION_MAX_BYTES = 8 * 1024 * 1024


class ArtifactsUnavailable(ApiError):
    """The artifact bucket did not answer (throttled, an outage): nothing was written."""

    status, code = 503, "unavailable"


@dataclass(frozen=True)
class Parent:
    """The run a continuation continues, checked (``continuation.py``): where its chain
    starts and its patch."""

    run_id: str
    repo: str  # OWNER/NAME as the parent recorded it
    ref: str | None  # what the first run of the chain asked for (shown, not cloned)
    root_commit: str  # the 40-hex commit the chain's first run was cloned at
    chunks: int  # the parent's patch events (0: it changed nothing)
    continues: str | None  # the parent's own parent, when it is a continuation
    record: dict[str, Any]


class Bundles:
    """Builds a continuation's bundle and stores it in the artifact bucket."""

    def __init__(self, settings: ApiConfig, logs: LogReader, artifacts: Artifacts) -> None:
        self.settings = settings
        self.logs = logs
        self.artifacts = artifacts

    def build(self, run_id: str, parent: Parent) -> bytes:
        """The bundle ``run_id`` starts from (JSON, UTF-8): the chain's patches oldest first
        and the parent's session. 409 when a patch cannot be read back whole or the chain is
        larger than repo-init reads; 503 when S3 does not answer."""
        patches = self._ancestor_patches(parent)
        if parent.chunks:
            try:
                text = read_patch(self.settings, self.logs, parent.record, parent.chunks)
            except PatchUnavailable as exc:
                raise Conflict(
                    f"run {parent.run_id}'s patch cannot be read back: {exc}; it cannot be "
                    "continued"
                ) from None
            patches.append({"run_id": parent.run_id, "patch": text})
        session, note = self._session(parent.run_id)
        body = {
            "format": BUNDLE_FORMAT,
            "run_id": run_id,
            "parent_run_id": parent.run_id,
            "repo": repo_url(parent.repo),
            "root_commit": parent.root_commit,
            "patches": patches,
            "session": session,
            "session_note": note,
        }
        # ASCII-escaped: a patch from the log stream may hold a lone surrogate, which UTF-8
        # cannot encode but a JSON escape carries as it came.
        data = json.dumps(body, separators=(",", ":")).encode("ascii")
        if len(data) > BUNDLE_MAX_BYTES:
            raise Conflict(
                f"the continuation of run {parent.run_id} would need a {len(data)}-byte bundle "
                f"(its chain's patches and session); repo-init reads at most {BUNDLE_MAX_BYTES}"
            )
        return data

    def write(self, run_id: str, data: bytes) -> None:
        """Store the bundle where the run's repo-init will GET it."""
        self.artifacts.put(bundle_key(run_id), data, "application/json")

    def _ancestor_patches(self, parent: Parent) -> list[dict[str, str]]:
        """The patches the parent itself started from (its bundle's), oldest first."""
        if parent.continues is None:
            return []
        key = bundle_key(parent.run_id)
        try:
            data = self.artifacts.read(key, BUNDLE_MAX_BYTES)
        except (ArtifactMissing, ArtifactUnreadable) as exc:
            raise Conflict(
                f"the bundle run {parent.run_id} started from ({key}) could not be read "
                f"({exc.code}; artifacts expire after the setting artifact_retention_days), "
                "so its chain's patches are not known; it cannot be continued"
            ) from None
        except ArtifactTooLarge as exc:
            raise Conflict(
                f"the bundle run {parent.run_id} started from is {exc.size} bytes, over "
                f"{BUNDLE_MAX_BYTES}; it cannot be continued"
            ) from None
        except Exception as exc:
            raise self._unavailable(exc) from None
        patches = _bundle_patches(data, parent)
        if patches is None:
            raise Conflict(
                f"the bundle run {parent.run_id} started from ({key}) is not a valid bundle "
                "of its chain; it cannot be continued"
            )
        return patches

    def _session(self, parent_id: str) -> tuple[str | None, str | None]:
        """(the parent's session JSONL, None) or (None, why there is none)."""
        try:
            data = self.artifacts.read(session_key(parent_id), SESSION_MAX_BYTES)
        except ArtifactMissing:
            return None, f"run {parent_id} saved no session"
        except ArtifactUnreadable as exc:
            return None, (
                f"the session of run {parent_id} could not be read ({exc.code}: it was not "
                "saved, or the API may not read it)"
            )
        except ArtifactTooLarge as exc:
            return None, (
                f"the session of run {parent_id} is {exc.size} bytes, over the "
                f"{SESSION_MAX_BYTES}-byte cap"
            )
        except Exception as exc:
            raise self._unavailable(exc) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None, f"the session of run {parent_id} is not UTF-8 text"
        if not text.strip():
            return None, f"run {parent_id} saved an empty session"
        return text, None

    @staticmethod
    def _unavailable(exc: BaseException) -> ArtifactsUnavailable:
        code = aws.error_code(exc) or type(exc).__name__
        log.warning("artifact bucket read failed: %s", code)
        return ArtifactsUnavailable(
            f"the artifact bucket could not be read ({code}); nothing was started, retry"
        )


def _bundle_patches(data: bytes, parent: Parent) -> list[dict[str, str]] | None:
    """The patches of the bundle ``parent`` started from, or None when it is not one (wrong
    format, another run, another root, a malformed entry)."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if (
        not isinstance(body, dict)
        or body.get("format") != BUNDLE_FORMAT
        or body.get("run_id") != parent.run_id
        or body.get("root_commit") != parent.root_commit
        or not isinstance(body.get("patches"), list)
    ):
        return None
    out: list[dict[str, str]] = []
    for entry in body["patches"]:
        if not isinstance(entry, dict):
            return None
        run_id, patch = entry.get("run_id"), entry.get("patch")
        if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
            return None
        if not isinstance(patch, str):
            return None
        out.append({"run_id": run_id, "patch": patch})
    return out
