"""`python -m devtools.run "prompt"`: start a run on `make up`'s API and follow it to its result.

The same API calls as `.github/workflows/run-agent.yml`: POST /v1/runs, page through
GET /v1/runs/{id}/events while polling GET /v1/runs/{id} until it is STOPPED (or
FAILED_TO_START), wait briefly for the result, print the final message, usage and cost (and,
for a run on a repository, save its patch under `.local/patches/` to `git apply`), and
exit with the run's exit code (1 when it has none). The token is a development token for the
running `make up` (`devtools.dev_token`'s issuer).

`python -m devtools.run --continue RUN_ID "instruction"` continues a STOPPED run on a
repository - its code and its conversation - the way a `/cloudagent` comment does from GitHub
(`.github/workflows/continue-run.yml`): the same POST with `continue_from`. Its saved patch is
incremental: it applies on top of the parent's (and the parent's parents').
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devtools.local.oidc import DevIssuer
from devtools.local.paths import LocalPaths

TERMINAL = ("STOPPED", "FAILED_TO_START")
# A run id: chalicelib.core.ids.RUN_ID_RE (tests/devtools/test_run.py keeps the two equal).
RUN_ID_RE = re.compile(r"run_[0-9A-HJKMNP-TV-Z]{26}")


class Api:
    """A tiny JSON client for the local API with a development token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return json.loads(self.read(method, path, body, **headers) or b"null")

    def read(self, method: str, path: str, body: Any = None, **headers: str) -> bytes:
        """The response body as bytes; an HTTP error ends the program with its JSON error."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in headers.items():
            request.add_header(name.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise SystemExit(
                f"{method} {path}: {error.code} {error.read().decode()[:500]}"
            ) from None


def follow(api: Api, run_id: str, show_events: bool, out=print) -> dict[str, Any]:
    """Poll until the run is terminal (printing events as they come); the final run record."""
    token: str | None = None
    while True:
        quiet = True
        if show_events:
            query = f"?next_token={urllib.request.quote(token)}" if token else ""
            page = api.call("GET", f"/v1/runs/{run_id}/events{query}")
            for event in page["events"]:
                out(event["message"])
            token = page.get("next_token") or token
            quiet = not page["events"]
        run = api.call("GET", f"/v1/runs/{run_id}")
        if run["status"] in TERMINAL and quiet:
            break
        if quiet:
            time.sleep(0.5)
    for _ in range(20):  # the result is read from the log when the task stops
        if run["status"] != "STOPPED" or run.get("result") or run.get("result_error"):
            break
        time.sleep(0.5)
        run = api.call("GET", f"/v1/runs/{run_id}")
    return run


def run_id_argument(value: str) -> str:
    """`--continue`'s argument: a run id, or a clear error before anything is called."""
    if not RUN_ID_RE.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a run id: run_ and 26 characters of Crockford base32 "
            "(digits and capitals without I, L, O, U), e.g. run_01JQ8Z3K4M5N6P7Q8R9S0T1V2W"
        )
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.run", description=__doc__)
    parser.add_argument("prompt")
    parser.add_argument("--provider", default="openai")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--repo", help="OWNER/NAME (must be in the API's allowed repositories)")
    parser.add_argument("--ref")
    parser.add_argument(
        "--continue",
        dest="continue_from",
        metavar="RUN_ID",
        type=run_id_argument,
        help="continue this STOPPED run on a repository (its code and conversation); the prompt "
        "is the next instruction and the saved patch applies on top of the parent's",
    )
    parser.add_argument(
        "--max-cost", type=float, help="the run's model spend cap in USD (the proxy enforces it)"
    )
    parser.add_argument("--events", action="store_true", help="print the agent's events")
    args = parser.parse_args(argv)
    if args.continue_from and args.ref:
        parser.error(
            "--ref cannot be used with --continue: a continuation starts from the state "
            "its parent left"
        )
    return args


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """POST /v1/runs's body, as run-agent.yml sends it."""
    body: dict[str, Any] = {"prompt": args.prompt, "provider": args.provider, "model": args.model}
    if args.continue_from:
        body["continue_from"] = args.continue_from
    if args.repo:
        body["repo"] = args.repo
    if args.ref:
        body["ref"] = args.ref
    if args.max_cost is not None:
        body["max_cost_usd"] = args.max_cost
    return body


def save_patch(api: Api, paths: LocalPaths, run_id: str, patch: dict[str, Any]) -> None:
    """The run's patch under `.local/patches/<run id>.diff`, and how to apply it."""
    saved = paths.root / "patches" / f"{run_id}.diff"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(api.read("GET", f"/v1/runs/{run_id}/patch"))
    shown = saved.relative_to(Path.cwd()) if saved.is_relative_to(Path.cwd()) else saved
    parent = patch.get("parent_run_id")
    how = f"git apply it after run {parent}'s patch" if parent else "apply with git apply"
    print(
        f"  patch: {patch.get('files_changed')} file(s), +{patch.get('insertions')} "
        f"-{patch.get('deletions')} on {str(patch.get('base_commit'))[:12]}, saved to "
        f"{shown} ({how})",
        file=sys.stderr,
    )


def report(run_id: str, run: dict[str, Any]) -> None:
    """The run's status, usage and cost, on stderr."""
    result = run.get("result") or {}
    usage = result.get("usage") or {}
    print(f"run {run_id}: {run['status']}, exit code {run.get('exit_code')}", file=sys.stderr)
    if run.get("failure_reason") or run.get("result_error"):
        print(f"  {run.get('failure_reason') or run.get('result_error')}", file=sys.stderr)
    print(
        f"  tokens in {usage.get('input_tokens')}, out {usage.get('output_tokens')}, "
        f"tool calls {result.get('tool_calls')}, estimated cost {run.get('estimated_cost_usd')}"
        + (
            " (budget exceeded: the proxy refused further model calls)"
            if run.get("budget_exceeded")
            else ""
        ),
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = LocalPaths.from_env()
    state = paths.load_state()
    if not state.get("api_url"):
        print("nothing is up: run `make up` first", file=sys.stderr)
        return 2
    issuer = DevIssuer.load(state["issuer_url"], paths.key_file)
    api = Api(state["api_url"], issuer.token(state["audience"], state["subject"]))
    created = api.call("POST", "/v1/runs", request_body(args))
    run_id = created["run_id"]
    continues = f" (continues {args.continue_from})" if args.continue_from else ""
    print(f"run {run_id}: {created['status']}{continues}", file=sys.stderr)
    run = follow(api, run_id, args.events)
    report(run_id, run)
    result = run.get("result") or {}
    patch = result.get("patch") or {}
    if patch.get("chunks"):
        save_patch(api, paths, run_id, patch)
    print(result.get("final_message") or "(no final message)")
    code = run.get("exit_code")
    return code if run["status"] == "STOPPED" and isinstance(code, int) else 1


if __name__ == "__main__":
    sys.exit(main())
