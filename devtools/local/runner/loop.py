"""The local task runner: Fargate's part for the cluster `make up` deployed on moto.

moto records RunTask and StopTask but runs nothing. This process, started and stopped with the
rest of `make up` (`.local/runner.pid`, `.local/runner.log`), polls moto's ECS every
POLL_SECONDS:

* a task with desiredStatus RUNNING that it has not seen -> a `TaskRun` in its own thread
  (container started with what ECS recorded, stdout to the awslogs stream, RUNNING and then
  STOPPED delivered through the deployed EventBridge rule to the deployed handler);
* a task it runs whose desiredStatus became STOPPED (StopTask: the API, the reaper,
  `stop_all`, `make down`) -> SIGTERM, SIGKILL after stopTimeout.

It also plays EventBridge's schedule for `rate(...)` rules (the reaper), and serves the local
fake model in a thread unless `CLOUDAGENT_LOCAL_MODELS=real`.

Tasks it ran are listed in `.local/runner-tasks.json`; a restarted runner never runs those
again - if a runner dies mid-run, its containers get SIGTERM (parent-death signal) and their
runs are left RUNNING on moto for the reaper to stop and reconcile, as after a lost host.
SIGTERM to the runner stops its tasks like StopTask and waits for their STOPPED reports.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from devtools.local.lambdas import Aws, deliver
from devtools.local.paths import LocalPaths
from devtools.local.runner.container import Launcher
from devtools.local.runner.mode import image_available
from devtools.local.runner.model import LocalModel
from devtools.local.runner.schedule import Schedule
from devtools.local.runner.task_run import TaskRun, wait_all

MARKER = "devtools.local.runner"
POLL_SECONDS = 0.5
SHUTDOWN_SECONDS = 130  # the longest stopTimeout ECS allows (120 s) and the last reports


def _log(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


class Runner:
    """The polling loop and the tasks it runs."""

    def __init__(self, aws: Aws, paths: LocalPaths, launcher: Launcher) -> None:
        self.aws = aws
        self.paths = paths
        self.launcher = launcher
        self.runs: dict[str, TaskRun] = {}
        self._seen_file = paths.root / "runner-tasks.json"
        self._seen: set[str] = set(self._load_seen())
        self._ecs = aws.client("ecs")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._tasks = paths.root / "tasks"
        self._tasks.mkdir(parents=True, exist_ok=True)

    def _load_seen(self) -> list[str]:
        try:
            return list(json.loads(self._seen_file.read_text()))
        except (FileNotFoundError, ValueError):
            return []

    def _remember(self, arn: str) -> None:
        self._seen.add(arn)
        self._seen_file.write_text(json.dumps(sorted(self._seen)))

    def _deliver(self, event: dict[str, Any]) -> None:
        try:
            for outcome in deliver(self.aws, event):
                status = event["detail"]["lastStatus"]
                _log(f"  {status} -> {outcome['function']}: {outcome['result']}")
        except Exception as error:  # EventBridge retries; here the reaper reconciles later
            _log(f"  delivery of {event['detail']['lastStatus']} failed: {error!r}"[:2000])

    def poll(self) -> None:
        """One look at every cluster: start new tasks, pass StopTask on to running ones."""
        for cluster in self._ecs.list_clusters().get("clusterArns", []):
            wanted = self._ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
            new = [arn for arn in wanted if arn not in self._seen]
            ours = [arn for arn, run in self.runs.items() if not run.done.is_set()]
            ours = [arn for arn in ours if arn not in wanted]
            for index in range(0, len(new) + len(ours), 100):
                batch = (new + ours)[index : index + 100]
                for task in self._ecs.describe_tasks(cluster=cluster, tasks=batch)["tasks"]:
                    self._look_at(task)

    def _look_at(self, task: dict[str, Any]) -> None:
        with self._lock:  # the loop and shutdown's last poll must not both start a task
            self._look_at_locked(task)

    def _look_at_locked(self, task: dict[str, Any]) -> None:
        arn = task["taskArn"]
        run = self.runs.get(arn)
        if run is None and task.get("desiredStatus") == "RUNNING" and not self._stopping.is_set():
            self._remember(arn)
            run = TaskRun(task, self.aws.client, self.launcher, self._deliver, _log, self._tasks)
            self.runs[arn] = run
            threading.Thread(target=run.run, name=arn[-12:], daemon=True).start()
        elif run is not None and task.get("desiredStatus") == "STOPPED":
            run.stop(str(task.get("stoppedReason") or ""))

    def loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll()
            except Exception as error:  # moto restarting, a cluster being destroyed
                _log(f"poll failed: {error!r}"[:500])
            self._stopping.wait(POLL_SECONDS)
            for arn in [a for a, r in self.runs.items() if r.done.is_set()]:
                del self.runs[arn]

    def shutdown(self) -> None:
        """Stop polling; every running task is stopped as StopTask would, and reported."""
        try:
            self.poll()  # StopTask calls not seen yet (make down's) keep their reason
        except Exception as error:
            _log(f"last poll failed: {error!r}"[:500])
        self._stopping.set()
        active = [run for run in self.runs.values() if not run.done.is_set()]
        for run in active:
            run.stop("local runner stopped (make down)")
        if not wait_all(active, SHUTDOWN_SECONDS):
            _log("some tasks did not report STOPPED in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MARKER}")
    parser.add_argument("--local-dir", required=True)
    parser.add_argument("--moto-url", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--mode", choices=("auto", "image", "host"), default="auto")
    parser.add_argument("--models", choices=("fake", "real"), default="fake")
    parser.add_argument("--model-port", type=int, default=0)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    paths = LocalPaths(Path(args.local_dir))
    aws = Aws(url=args.moto_url, region=args.region)
    model = LocalModel(args.model_port).start() if args.models == "fake" else None
    mode = args.mode if args.mode != "auto" else ("image" if image_available() else "host")
    launcher = Launcher(
        paths.root / "tasks", paths.root / "repos", model.base_url if model else None, mode
    )
    runner = Runner(aws, paths, launcher)
    schedule = Schedule(aws, _log)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=runner.loop, daemon=True)
    thread.start()
    schedule.start()
    model_line = f"fake model {model.base_url}" if model else "real model providers"
    _log(f"runner: mode {mode}, {model_line}, polling {aws.url} every {POLL_SECONDS}s")
    stop.wait()
    _log("runner: stopping")
    schedule.stop()
    runner.shutdown()
    thread.join(5)
    if model:
        model.stop()
    _log("runner: stopped")
    return 0
