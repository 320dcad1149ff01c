"""Continuing a stopped run (``continue_from``): which run, from which commit, with what.

A continuation starts from its chain's ROOT commit - the repository commit the first run of
the chain was cloned at - with every patch of the chain applied and committed in order by
its repo-init container, so it works whether or not anyone pushed the run's branch; its own
patch is then incremental and applies on top of that branch. The control plane owns that code
state: the bundle (``continuations/<run>.json``, ``bundle.py``) is built from the parent's
record, its log stream (the patch, the same assembly ``GET /patch`` serves) and, when the
parent is itself a continuation, the parent's own bundle. The task owns the conversation: the
parent's agent saved its session (``sessions/<parent>.jsonl``) and the bundle carries it to the
new agent.

Every check answers before anything is written: the parent exists (404), has a repository,
the request names no other repository and no ref (400), it stopped (409), its result was read
(409, retry) and its patch is whole (409). The reads that build the bundle (log stream, S3)
come after the idempotency check, so a replayed request costs no more than a record read.
One running continuation per parent is the create transaction's job
(``persistence/continuation_claims.py``).

Every run with a repository gets a presigned PUT URL for its session; a continuation's
repo-init also gets a presigned GET URL for its bundle. Both last the run's whole life: its
max_runtime_seconds, the stop grace (the session is saved while stopping) and
:data:`URL_START_ALLOWANCE_SECONDS` for the time from RunTask to the task running (image pull,
and one Spot-to-on-demand restart, which reuses the task's overrides and so its URLs).
"""

from __future__ import annotations

from typing import Any

from ..cloud.artifacts import Artifacts, bundle_key, session_key
from ..cloud.ecs import task_id
from ..cloud.logs import LogReader, stream_name
from ..core import aws
from ..core.config import ApiConfig
from ..core.errors import BadRequest, Conflict, NotFound
from ..core.gitref import SHA_RE, canonical_repo
from ..core.statuses import STOPPED
from ..persistence.store import Store
from . import results
from .bundle import Bundles, Parent
from .request import RunRequest

# From RunTask to the task running (image pull, ENI, one Spot-to-on-demand restart): what a
# presigned URL's life adds to the run's own (max_runtime_seconds + the stop grace).
URL_START_ALLOWANCE_SECONDS = 900
# The first pages of a log stream searched for repo_ready (emitted right after the clone).
CLONE_PAGES = 2


def url_lifetime(settings: ApiConfig, req: RunRequest) -> int:
    """Seconds a run's presigned URLs stay valid: its whole possible life and its start."""
    return req.max_runtime_seconds + settings.stop_grace_seconds + URL_START_ALLOWANCE_SECONDS


class Continuations:
    """The parent's checks, the bundle, and the task's presigned URLs."""

    def __init__(
        self, settings: ApiConfig, store: Store, logs: LogReader, artifacts: Artifacts
    ) -> None:
        self.settings = settings
        self.store = store
        self.logs = logs
        self.artifacts = artifacts
        self.bundles = Bundles(settings, logs, artifacts)

    # -- the URLs every run with a repository gets ---------------------------------------------

    def session_upload_url(self, run_id: str, req: RunRequest) -> str:
        """The agent's presigned PUT of ``sessions/<run_id>.jsonl``."""
        return self.artifacts.presigned_put(session_key(run_id), url_lifetime(self.settings, req))

    def bundle_url(self, run_id: str, req: RunRequest) -> str:
        """repo-init's presigned GET of ``continuations/<run_id>.json``."""
        return self.artifacts.presigned_get(bundle_key(run_id), url_lifetime(self.settings, req))

    # -- the parent ----------------------------------------------------------------------------

    def parent_of(self, req: RunRequest) -> Parent:
        """The run ``req.continue_from`` names, once it can be continued (404/400/409)."""
        parent_id = str(req.continue_from)
        record = self.store.get_run(parent_id)
        if record is None:
            raise NotFound(f"run {parent_id} not found (continue_from)")
        repo = record.get("repo")
        if record.get("kind") != "run" or not isinstance(repo, str) or not repo:
            raise BadRequest(
                f"run {parent_id} has no repository; only a run with a repository can be continued"
            )
        if req.repo is not None and canonical_repo(req.repo) != canonical_repo(repo):
            raise BadRequest(
                f"repo must be {repo}, the repository of run {parent_id}, or left out "
                "(a continuation works on its parent's repository)"
            )
        if req.ref is not None:
            raise BadRequest(
                "ref must not be given with continue_from: the continuation starts from the "
                f"state run {parent_id} left"
            )
        status = record.get("status")
        if status != STOPPED:
            raise Conflict(f"run {parent_id} is {status}; only a stopped run can be continued")
        result = record.get("result")
        if not isinstance(result, dict):
            why = record.get("result_error") or "not read yet"
            raise Conflict(
                f"run {parent_id} has no result yet ({why}); its patch is known once it is "
                "read - retry in a minute"
            )
        if result.get("patch_error"):
            raise Conflict(
                f"run {parent_id} could not collect its patch ({result['patch_error']}); "
                "it cannot be continued"
            )
        meta = result.get("patch") if isinstance(result.get("patch"), dict) else None
        chunks = self._chunks(parent_id, meta)
        continues = record.get("parent_run_id")
        return Parent(
            run_id=parent_id,
            repo=repo,
            ref=record.get("ref") if isinstance(record.get("ref"), str) else None,
            root_commit=self._root_commit(record, meta),
            chunks=chunks,
            continues=continues if isinstance(continues, str) else None,
            record=record,
        )

    @staticmethod
    def _chunks(parent_id: str, meta: dict[str, Any] | None) -> int:
        """How many patch events the parent left (0: no change); 409 for a patch that is not
        whole, which a continuation would silently lose part of."""
        if meta is None:
            return 0
        if meta.get("truncated"):
            raise Conflict(
                f"run {parent_id}'s patch was truncated at the agent's cap of "
                f"{results.PATCH_MAX_BYTES} bytes; a continuation needs all of it"
            )
        chunks = meta.get("chunks")
        if not isinstance(chunks, int) or isinstance(chunks, bool) or chunks < 1:
            raise Conflict(
                f"run {parent_id} reported a patch without chunks; it cannot be continued"
            )
        return chunks

    def _root_commit(self, record: dict[str, Any], meta: dict[str, Any] | None) -> str:
        """The chain's root: a continuation parent's own, else the commit the parent was cloned
        at (its patch's base, or - when it changed nothing - its repo_ready event)."""
        run_id = str(record["run_id"])
        if record.get("parent_run_id"):
            root = record.get("root_commit")
        elif meta is not None and meta.get("base_commit"):
            root = meta["base_commit"]
        else:
            root = self._clone_commit(record)
        if not isinstance(root, str) or not SHA_RE.fullmatch(root):
            raise Conflict(
                f"the commit run {run_id} was cloned at is not known (no 40-hex base commit in "
                "its result or its log stream's repo_ready event); it cannot be continued"
            )
        return root

    def _clone_commit(self, record: dict[str, Any]) -> str | None:
        arn = record.get("task_arn")
        if not arn:
            return None
        stream = stream_name(self.settings.container_name, task_id(str(arn)))
        try:
            return results.clone_commit(self.logs.head(stream, CLONE_PAGES), str(record["run_id"]))
        except Exception as exc:
            if aws.error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    # -- the bundle (bundle.py) ----------------------------------------------------------------

    def bundle(self, run_id: str, parent: Parent) -> bytes:
        """The bundle ``run_id`` starts from (``bundle.py``: 409/503 when it cannot be built)."""
        return self.bundles.build(run_id, parent)

    def write_bundle(self, run_id: str, data: bytes) -> None:
        """Store the bundle where the run's repo-init will GET it."""
        self.bundles.write(run_id, data)
