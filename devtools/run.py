"""`python -m devtools.run "prompt"`: start a run on `make up`'s API and follow it to its result.

The same API calls as `.github/workflows/run-agent.yml`: POST /v1/runs, page through
GET /v1/runs/{id}/events while polling GET /v1/runs/{id} until it is STOPPED (or
FAILED_TO_START), wait briefly for the result, print the final message, usage and cost (and,
for a run on a repository, save its patch under `.local/patches/` to `git apply`), and
exit with the run's exit code (1 when it has none). The token is a development token for the
running `make up` (`devtools.dev_token`'s issuer).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devtools.local.oidc import DevIssuer
from devtools.local.paths import LocalPaths

TERMINAL = ("STOPPED", "FAILED_TO_START")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.run", description=__doc__)
    parser.add_argument("prompt")
    parser.add_argument("--provider", default="openai")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--repo", help="OWNER/NAME (must be in the API's allowed repositories)")
    parser.add_argument("--ref")
    parser.add_argument(
        "--max-cost", type=float, help="the run's model spend cap in USD (the proxy enforces it)"
    )
    parser.add_argument("--events", action="store_true", help="print the agent's events")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    paths = LocalPaths.from_env()
    state = paths.load_state()
    if not state.get("api_url"):
        print("nothing is up: run `make up` first", file=sys.stderr)
        return 2
    issuer = DevIssuer.load(state["issuer_url"], paths.key_file)
    api = Api(state["api_url"], issuer.token(state["audience"], state["subject"]))
    body: dict[str, Any] = {"prompt": args.prompt, "provider": args.provider, "model": args.model}
    if args.repo:
        body["repo"] = args.repo
    if args.ref:
        body["ref"] = args.ref
    if args.max_cost is not None:
        body["max_cost_usd"] = args.max_cost
    created = api.call("POST", "/v1/runs", body)
    run_id = created["run_id"]
    print(f"run {run_id}: {created['status']}", file=sys.stderr)
    run = follow(api, run_id, args.events)
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
    patch = result.get("patch") or {}
    if patch.get("chunks"):
        saved = paths.root / "patches" / f"{run_id}.diff"
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(api.read("GET", f"/v1/runs/{run_id}/patch"))
        shown = saved.relative_to(Path.cwd()) if saved.is_relative_to(Path.cwd()) else saved
        print(
            f"  patch: {patch.get('files_changed')} file(s), +{patch.get('insertions')} "
            f"-{patch.get('deletions')} on {str(patch.get('base_commit'))[:12]}, saved to "
            f"{shown} (apply with git apply)",
            file=sys.stderr,
        )
    print(result.get("final_message") or "(no final message)")
    code = run.get("exit_code")
    return code if run["status"] == "STOPPED" and isinstance(code, int) else 1


if __name__ == "__main__":
    sys.exit(main())
