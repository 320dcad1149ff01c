"""Time a run on `make up`: POST /v1/runs -> RUNNING and -> STOPPED (result stored).

Run against a running `make up` (default fake model, default prompt: one `bash` tool call and a
final message). Each run is started and then polled every 50 ms; the first poll that shows the
status counts, so each figure is at most 50 ms late. Prints every run and the medians:

    .venv/bin/python bench/local_run_bench.py --runs 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.local.oidc import DevIssuer
from devtools.local.paths import LocalPaths
from devtools.run import Api

POLL = 0.05


def one(api: Api, prompt: str) -> tuple[float, float, int]:
    """(seconds to RUNNING, seconds to STOPPED with its result, exit code)."""
    began = time.monotonic()
    run_id = api.call(
        "POST", "/v1/runs", {"prompt": prompt, "provider": "openai", "model": "gpt-4o-mini"}
    )["run_id"]
    running = None
    while True:
        run = api.call("GET", f"/v1/runs/{run_id}")
        if running is None and run["status"] in ("RUNNING", "STOPPING", "STOPPED"):
            running = time.monotonic() - began
        if run["status"] == "STOPPED" and (run.get("result") or run.get("result_error")):
            return running, time.monotonic() - began, run["exit_code"]
        if run["status"] == "FAILED_TO_START":
            raise SystemExit(f"{run_id} failed to start: {run.get('failure_reason')}")
        time.sleep(POLL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--prompt", default="Say hello.")
    args = parser.parse_args()
    paths = LocalPaths.from_env()
    state = paths.load_state()
    issuer = DevIssuer.load(state["issuer_url"], paths.key_file)
    api = Api(state["api_url"], issuer.token(state["audience"], state["subject"]))
    to_running, to_stopped = [], []
    for index in range(args.runs):
        running, stopped, code = one(api, args.prompt)
        to_running.append(running)
        to_stopped.append(stopped)
        print(f"run {index + 1}: RUNNING {running:.2f} s, STOPPED {stopped:.2f} s, exit {code}")
    for name, values in (("RUNNING", to_running), ("STOPPED", to_stopped)):
        print(
            f"POST -> {name}: median {statistics.median(values):.2f} s "
            f"(min {min(values):.2f}, max {max(values):.2f}; {len(values)} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
