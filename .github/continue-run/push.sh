#!/usr/bin/env bash
# continue-run.yml's push: put a continued run's incremental patch onto its pull request's
# branch and write the comment that reports it. Runs in the job that holds contents: write and
# pull-requests: write and no id-token, from the default branch's copy of this file (never the
# pull request's), on a checkout of the branch it pushes to.
#
# Environment (all from the workflow's env:, nothing interpolated into this script):
#   RUN_ID         the continued run, when run-agent.yml's outputs name it (the artifact's
#                  run_id.txt wins: outputs of a failed called workflow are not relied on)
#   PARENT_RUN_ID  the run it continues
#   BRANCH         cloudagent/run_<ULID>, the pull request's head branch (this repository)
#   REPO_DIR       a checkout of BRANCH, with a remote `origin` it may push to
#   ARTIFACT_DIR   run-agent.yml's `cloudagent-continue` artifact: run_id.txt, summary.md (what
#                  the secret scan left) and change.patch (only with a change the scan passed);
#                  absent when the run did not start or was not scanned
#   START_ERROR    why POST /v1/runs refused the run, if it did
#   RUN_URL        this workflow run, for the comment
#   COMMENT_FILE   where to write the pull-request comment
#
# The patch is relative to the parent's state; it is applied on the branch's head, committed as
# `cloudagent: run <RUN_ID> (continues <PARENT_RUN_ID>)` and pushed to the SAME branch without
# force. When the push is refused because the branch moved meanwhile, it re-applies once on the
# new head. A patch that does not apply is reported, nothing is pushed, and the exit code is 1.
set -euo pipefail

run_id_re='^run_[0-9A-HJKMNP-TV-Z]{26}$' # chalicelib.core.ids.RUN_ID_RE
: "${COMMENT_FILE:?}" "${REPO_DIR:?}" "${ARTIFACT_DIR:?}"
RUN_ID="${RUN_ID:-}"
if [[ -f "$ARTIFACT_DIR/run_id.txt" ]]; then
  RUN_ID="$(cat "$ARTIFACT_DIR/run_id.txt")"
fi
START_ERROR="${START_ERROR:-}"
RUN_URL="${RUN_URL:-}"

comment() { # the outcome line, then the run's scanned summary when there is one
  {
    printf '%s\n' "$1"
    if [[ -f "$ARTIFACT_DIR/summary.md" ]]; then
      printf '\n'
      cat "$ARTIFACT_DIR/summary.md"
    fi
  } >"$COMMENT_FILE"
}

[[ "${PARENT_RUN_ID:-}" =~ $run_id_re ]] || { comment "continue-run: unexpected parent run id."; exit 1; }
[[ "${BRANCH:-}" =~ ^cloudagent/run_[0-9A-HJKMNP-TV-Z]{26}$ ]] || {
  comment "continue-run: unexpected branch name."
  exit 1
}
if [[ -z "$RUN_ID" || -n "$START_ERROR" ]]; then
  comment "Could not continue run \`$PARENT_RUN_ID\`: ${START_ERROR:-the run did not start}. Nothing was pushed. ${RUN_URL}"
  exit 1
fi
[[ "$RUN_ID" =~ $run_id_re ]] || { comment "continue-run: unexpected run id."; exit 1; }
what="Run \`$RUN_ID\` (continues \`$PARENT_RUN_ID\`)"
if [[ ! -f "$ARTIFACT_DIR/summary.md" ]]; then
  comment "$what ended without a scanned result: nothing was pushed. ${RUN_URL}"
  exit 1
fi
if [[ ! -f "$ARTIFACT_DIR/change.patch" ]]; then
  comment "$what: no change to push (none made, or withheld or cut: see below)."
  exit 0
fi

cd "$REPO_DIR"
patch="$(cd "$ARTIFACT_DIR" && pwd)/change.patch"
message="cloudagent: run $RUN_ID (continues $PARENT_RUN_ID)"

apply_and_commit() {
  if ! git apply --index --whitespace=nowarn "$patch"; then
    comment "$what: its patch does not apply on \`$BRANCH\` at $(git rev-parse --short HEAD) (the branch has changed since run \`$PARENT_RUN_ID\`): nothing was pushed."
    exit 1
  fi
  git -c user.name="github-actions[bot]" \
    -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
    commit --quiet --no-verify -m "$message"
}

refused() {
  comment "$what: the push to \`$BRANCH\` was refused ($1; the job log has git's reason): nothing was pushed."
  exit 1
}

apply_and_commit
if ! git push --quiet origin "HEAD:refs/heads/$BRANCH"; then
  git fetch --quiet origin "refs/heads/$BRANCH"
  if [[ "$(git rev-parse FETCH_HEAD)" == "$(git rev-parse HEAD^)" ]]; then
    # Not a race: e.g. a change to .github/workflows, which this workflow's token may not push.
    refused "the branch had not moved"
  fi
  # The branch moved since the checkout: once more on its new head, still without force.
  git reset --quiet --hard FETCH_HEAD
  apply_and_commit
  git push --quiet origin "HEAD:refs/heads/$BRANCH" || refused "twice: the branch keeps moving"
fi
comment "$what: pushed $(git rev-parse --short HEAD) onto \`$BRANCH\`."
