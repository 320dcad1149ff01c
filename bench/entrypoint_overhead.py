"""Entrypoint overhead over a bare pi run, and log bytes per run (compact vs full stream).

Why: the entrypoint wraps every agent run, so its cost must stay small (budget: at most
100 ms over ``pi`` itself), and the compact stream exists to cut CloudWatch volume, which
is only worth it if the saving is real. Both are measured on the same fake-model run the
tests use: the real pi (installed from ``image/package-lock.json``, on the Dockerfile's
Node 24) against the fake OpenAI Responses server on 127.0.0.1, through the model proxy
(``image/model-proxy``, one for the whole benchmark) in both columns, as in a task. With a
repository, ``image/repo-init`` clones before each entrypoint run and is timed with it.

Runs alternate bare / entrypoint so drift on a busy machine hits both equally; the
overhead is the difference of the medians.

    .venv/bin/python -m bench.entrypoint_overhead [--runs 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devtools.fake_model import FakeOpenAI, text, tool
from devtools.pi_runtime import ENTRYPOINT, MODEL, MODEL_PROXY, REPO_INIT, ensure_runtime

PROMPT = "List the files in the workspace, then summarise what you found."
# A typical short agent turn: one tool call, then an answer streamed word by word (real
# models stream token-sized deltas; every delta becomes one message_update line).
ANSWER = " ".join(
    [
        "The workspace contains a README, a src directory with the application code, and a",
        "tests directory. Nothing looks out of place; the build files are present and the",
        "configuration matches the documented layout, so no changes are needed.",
    ]
    * 2
)


def script(fake: FakeOpenAI) -> None:
    fake.reset(tool("bash", {"command": "ls -la"}), text(ANSWER))


def start_proxy(fake: FakeOpenAI, path: str) -> tuple[subprocess.Popen, str]:
    """The model proxy on a free port, forwarding to the fake; (process, its URL)."""
    env = {
        "PATH": path,
        "MODEL_PROXY_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-bench-dummy",
        "MODEL_PROXY_MAX_COST_USD": "1000",
        "MODEL_PROXY_PORT": "0",
        "MODEL_PROXY_UPSTREAM": fake.base_url,
        "MODEL_PROXY_ALLOW_LOCAL_UPSTREAM": "1",
    }
    proc = subprocess.Popen(
        [str(MODEL_PROXY)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    start = json.loads(proc.stdout.readline())
    if start.get("type") != "proxy_start":
        raise RuntimeError(f"model proxy did not start: {start}")
    return proc, f"http://127.0.0.1:{start['port']}"


def make_env(tmp: Path, proxy_url: str, path: str) -> dict[str, str]:
    agent = tmp / "agent"
    agent.mkdir(exist_ok=True)
    # what the entrypoint writes itself, here for the bare pi runs too
    (agent / "models.json").write_text(
        json.dumps(
            {"providers": {"openai": {"baseUrl": proxy_url, "apiKey": "cloudagent-model-proxy"}}}
        )
    )
    (agent / "settings.json").write_text(
        json.dumps({"retry": {"enabled": False, "provider": {"timeoutMs": 10000}}})
    )
    (tmp / "home").mkdir(exist_ok=True)
    return {
        "PATH": path,
        "HOME": str(tmp / "home"),
        "LANG": "C.UTF-8",
        "PI_OFFLINE": "1",
        "PI_CODING_AGENT_DIR": str(agent),
        "AGENT_MODEL_PROXY_URL": proxy_url,
        "AGENT_PROVIDER": "openai",
        "AGENT_MODEL": MODEL,
        "RUN_ID": "bench-run-0001",
        "JOB_PROMPT": PROMPT,
    }


# With a repository: a small project cloned from file:// before pi starts, one file changed by
# the tool, and the patch written after pi ends (clone + git add + diff are the added cost).
REPO_FILES = 300


def make_origin(tmp: Path) -> Path:
    origin = tmp / "origin"
    (origin / "src").mkdir(parents=True)
    for i in range(REPO_FILES):
        body = "".join(f"line {j} of module {i}\n" for j in range(80))
        (origin / "src" / f"mod_{i:03d}.py").write_text(body)
    genv = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for cmd in (
        ["git", "init", "-q", "--initial-branch=main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "base"],
    ):
        subprocess.run(cmd, cwd=origin, env=genv, check=True)
    return origin


def script_repo(fake: FakeOpenAI) -> None:
    cmd = "ls -la && printf 'one more line\\n' >> src/mod_007.py"
    fake.reset(tool("bash", {"command": cmd}), text(ANSWER))


def type_bytes_of(out: bytes, *types: str) -> int:
    return sum(len(x) + 1 for x in out.split(b"\n") if x and json.loads(x).get("type") in types)


def result_bytes(out: bytes) -> int:
    """Bytes the `result` object adds to the runtime_end line (the last line)."""
    line = out.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    end = json.loads(line)
    end.pop("result")
    return len(line) - len(json.dumps(end, separators=(",", ":"), ensure_ascii=False).encode())


def timed(
    cmd: list[str], env: dict[str, str], cwd: Path, stdin: bytes | None
) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, input=stdin, capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    args = ap.parse_args()

    rt = ensure_runtime()
    fake = FakeOpenAI().start()
    proxy, proxy_url = start_proxy(fake, rt.path)
    try:
        with tempfile.TemporaryDirectory() as tmp_s:
            tmp = Path(tmp_s)
            ws = tmp / "workspace"
            ws.mkdir()
            env = make_env(tmp, proxy_url, rt.path)
            bare_cmd = ["pi", "--mode", "json", "--no-session", "--provider", "openai"]
            bare_cmd += ["--model", MODEL]
            bare_stdin = PROMPT.encode()

            # Warm-up (file cache, first compile), not counted.
            for _ in range(2):
                script(fake)
                timed(bare_cmd, env, ws, bare_stdin)
                script(fake)
                timed([str(ENTRYPOINT)], env, ws, None)

            origin = make_origin(tmp)
            repo_env = dict(env, AGENT_REPO_URL=f"file://{origin}", AGENT_ALLOW_LOCAL_REPOS="1")

            def repo_run() -> tuple[float, bytes]:
                rws = Path(tempfile.mkdtemp(dir=tmp))  # a clone needs an empty workspace
                handoff = Path(tempfile.mkdtemp(dir=tmp))
                script_repo(fake)
                renv = dict(repo_env, AGENT_HANDOFF_DIR=str(handoff))
                clone_s, _ = timed([str(REPO_INIT)], renv, rws, None)
                run_s, out = timed([str(ENTRYPOINT)], renv, rws, None)
                return clone_s + run_s, out

            repo_run()  # warm-up

            bare: list[float] = []
            wrapped: list[float] = []
            with_repo: list[float] = []
            for _ in range(args.runs):
                script(fake)
                bare.append(timed(bare_cmd, env, ws, bare_stdin)[0])
                script(fake)
                wrapped.append(timed([str(ENTRYPOINT)], env, ws, None)[0])
                with_repo.append(repo_run()[0])
            _, repo_out = repo_run()

            script(fake)
            _, bare_out = timed(bare_cmd, env, ws, bare_stdin)
            script(fake)
            _, compact_out = timed([str(ENTRYPOINT)], env, ws, None)
            script(fake)
            _, full_out = timed([str(ENTRYPOINT)], dict(env, AGENT_LOG_DELTAS="1"), ws, None)
    finally:
        proxy.terminate()
        proxy.wait(10)
        fake.stop()

    med_bare = statistics.median(bare) * 1000
    med_wrapped = statistics.median(wrapped) * 1000
    overhead = med_wrapped - med_bare
    paired = statistics.median(w - b for w, b in zip(wrapped, bare, strict=True)) * 1000
    repo_cost = (statistics.median(with_repo) - statistics.median(wrapped)) * 1000
    patch_bytes = type_bytes_of(repo_out, "patch")
    load = os.getloadavg()[0]
    node_version = subprocess.run(
        ["node", "--version"], env={"PATH": rt.path}, capture_output=True, text=True
    ).stdout.strip()

    def lines(b: bytes) -> int:
        return b.count(b"\n")

    def type_bytes(b: bytes, *types: str) -> int:
        return sum(len(x) + 1 for x in b.split(b"\n") if x and json.loads(x).get("type") in types)

    def update_bytes(b: bytes) -> int:
        return type_bytes(b, "message_update")

    dup = type_bytes(compact_out, "turn_end", "agent_end") / len(compact_out)

    def row(label: str, xs: list[float]) -> str:
        ms = [x * 1000 for x in xs]
        return f"| {label} | {statistics.median(ms):.0f} ms | {min(ms):.0f} ms | {max(ms):.0f} ms |"

    saving = 1 - len(compact_out) / len(full_out)
    result = f"""# Entrypoint benchmark

Measured by `bench/entrypoint_overhead.py` ({time.strftime("%Y-%m-%d")}, {os.cpu_count()} cores,
{platform.system()} {platform.machine()}, Node {node_version}, the real pi from
`image/package-lock.json`, fake OpenAI Responses server on 127.0.0.1).

Reproduce: `.venv/bin/python -m bench.entrypoint_overhead --runs {args.runs}`

Scenario: one headless run = one `bash` tool call (`ls -la`) + a {len(ANSWER.split())}-word
answer streamed word by word.

## Overhead over a bare pi run (budget: at most 100 ms)

| | median | min | max |
|---|---:|---:|---:|
{row("bare `pi --mode json --no-session` (prompt on stdin)", bare)}
{row("`image/entrypoint` (same run)", wrapped)}
| **overhead (difference of medians, {args.runs} runs each)** | **{overhead:.0f} ms** | | |
| overhead (median of paired differences) | {paired:.0f} ms | | |
{row(f"`image/entrypoint` with a repository ({REPO_FILES} files, file://)", with_repo)}
| repo-init clone + patch (difference of medians to the run without) | {repo_cost:.0f} ms | | |

Load average (1 min) at the end of the timed runs: {load:.2f} on {os.cpu_count()} cores; on a
shared machine other jobs add noise to both columns, so compare runs with a low load.

## Log bytes per run

| stream | bytes | lines |
|---|---:|---:|
| bare pi stdout | {len(bare_out):,} | {lines(bare_out)} |
| entrypoint, `AGENT_LOG_DELTAS=1` (full) | {len(full_out):,} | {lines(full_out)} |
| entrypoint, default (compact) | {len(compact_out):,} | {lines(compact_out)} |
| entrypoint, compact, with a repository | {len(repo_out):,} | {lines(repo_out)} |

The `result` object on `runtime_end` adds {result_bytes(compact_out):,} bytes per run, of which
{len(ANSWER.encode()):,} are the final answer repeated (`final_message`, at most 64 KiB); with
a repository and its patch summary {result_bytes(repo_out):,}. The one-line change's `patch`
event is {patch_bytes:,} bytes.

`message_update` lines are {update_bytes(full_out) / len(full_out):.0%} of the full stream's
bytes; the compact stream is {saving:.0%} smaller. The full stream grows with the square of
the answer length (each update repeats the whole partial message), the compact one
linearly. Both include the entrypoint's `runtime_start`/`runtime_end` lines and the
`run_id` on every line.

Of the compact stream, {dup:.0%} is `turn_end` + `agent_end`, which repeat messages already
logged by `message_end`; docs/ARCHITECTURE.md §4 keeps them, so they are kept (a possible further
cut).
"""
    if args.out:
        args.out.write_text(result)
    print(result)
    return 0 if overhead <= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
