"""One task from start to STOPPED, as Fargate would carry it: the life of one container.

Started by the runner in a thread of its own (the thread that starts the process also waits
for it - the container's parent-death signal is tied to that thread). In order:

1. resolve what ECS recorded (`task_spec`); a task that cannot start (a secret ECS could not
   read, a container that fails to exec) is stopped on moto and reported STOPPED with
   `TaskFailedToStart` and a reason, never left hanging;
2. start the container (`container`), then report RUNNING through the deployed rule;
3. copy stdout into the task's awslogs stream as it comes (`log_stream`);
4. on StopTask (`stop()`): SIGTERM, then SIGKILL after the task definition's stopTimeout;
5. when the container has exited: send the rest of the log, mark the task stopped on moto
   (if nobody did), and report STOPPED with the exit code and stop reason.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.local.runner import ecs_events
from devtools.local.runner.container import Launch, Launcher
from devtools.local.runner.log_stream import LogStream
from devtools.local.runner.task_spec import CannotStart, TaskSpec, resolve

Deliver = Callable[[dict[str, Any]], Any]


class TaskRun:
    """The container of one task and what the runner knows about it."""

    def __init__(
        self,
        task: dict[str, Any],
        aws_client: Callable[[str], Any],
        launcher: Launcher,
        deliver: Deliver,
        log: Callable[[str], None],
        stderr_dir: Path,
    ) -> None:
        self.task = task
        self.arn = str(task["taskArn"])
        self._client = aws_client
        self._launcher = launcher
        self._deliver = deliver
        self._log = log
        self._stderr_dir = stderr_dir
        self.spec: TaskSpec | None = None
        self.launch: Launch | None = None
        self.exit_code: int | None = None
        self.stop_reason: str | None = None
        self.done = threading.Event()
        self._stop_requested = threading.Event()

    # -- stop --------------------------------------------------------------------------------

    def stop(self, reason: str) -> None:
        """StopTask reached the task: SIGTERM now, SIGKILL after stopTimeout (once)."""
        if self._stop_requested.is_set():
            return
        self.stop_reason = reason or "Task stopped by user"
        self._stop_requested.set()
        launch = self.launch
        if launch is None or launch.process.poll() is not None:
            return
        self._log(f"{self.arn}: StopTask -> SIGTERM ({self.stop_reason})")
        launch.signal(signal.SIGTERM)
        timeout = self.spec.stop_timeout if self.spec else 30
        timer = threading.Timer(timeout, self._kill)
        timer.daemon = True
        timer.start()

    def _kill(self) -> None:
        launch = self.launch
        if launch is not None and launch.process.poll() is None:
            self._log(f"{self.arn}: stopTimeout passed -> SIGKILL")
            launch.signal(signal.SIGKILL, wait_seconds=0)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(launch.process.pid, signal.SIGKILL)

    # -- life --------------------------------------------------------------------------------

    def run(self) -> None:
        """The whole life of the task (blocks until it is STOPPED and reported)."""
        try:
            self._run()
        except Exception as error:  # never leave a task half-reported
            self._log(f"{self.arn}: runner error {error!r}")
            self._fail(f"CannotStartContainerError: local runner: {error}"[:255])
        finally:
            self.done.set()

    def _run(self) -> None:
        pull_started = ecs_events.iso()
        ecs = self._client("ecs")
        definition = ecs.describe_task_definition(taskDefinition=self.task["taskDefinitionArn"])
        try:
            self.spec = resolve(
                self.task, definition["taskDefinition"], self._client("secretsmanager")
            )
        except CannotStart as error:
            self._fail(str(error))
            return
        stream = LogStream(self._client("logs"), self.spec.log_group, self.spec.log_stream)
        stderr = open(self._stderr_dir / f"{self.spec.task_id}.stderr", "ab")  # noqa: SIM115
        try:
            try:
                self.launch = self._launcher.start(self.spec, stderr)
            except OSError as error:
                stream.close()
                self._fail(f"CannotStartContainerError: {error.strerror or error}"[:255])
                return
            started = ecs_events.iso()
            self._log(f"{self.arn}: started ({self.launch.mode}, run {self.spec.run_id})")
            if self._stop_requested.is_set():  # StopTask arrived while starting
                self._stop_requested.clear()
                self.stop(self.stop_reason or "")
            pump = threading.Thread(target=self._pump, args=(stream,), daemon=True)
            pump.start()
            self._deliver(
                ecs_events.running_event(
                    self.task, self.spec.container, pull_started=pull_started, started=started
                )
            )
            code = self.launch.process.wait()
            pump.join(5)  # an orphan holding stdout must not hold the report back
            try:
                stream.close()
            except Exception as error:  # lost log lines do not change how the task ended
                self._log(f"{self.arn}: the last log lines were not written: {error!r}"[:500])
        finally:
            stderr.close()
        self.exit_code = code if code >= 0 else 128 - code  # a signal: 128+n, as docker says
        self._stopped(started, pull_started)

    def _pump(self, stream: LogStream) -> None:
        assert self.launch is not None and self.launch.process.stdout is not None
        for raw in self.launch.process.stdout:
            stream.write(raw.decode("utf-8", errors="replace"))

    def _mark_stopped_on_moto(self, reason: str) -> None:
        """The container ended by itself: ECS stops the task (moto does not know on its own)."""
        ecs = self._client("ecs")
        with contextlib.suppress(Exception):
            [task] = ecs.describe_tasks(cluster=self.task["clusterArn"], tasks=[self.arn])["tasks"]
            if task.get("desiredStatus") == "STOPPED":
                self.stop_reason = self.stop_reason or task.get("stoppedReason")
                return
            ecs.stop_task(cluster=self.task["clusterArn"], task=self.arn, reason=reason)

    def _stopped(self, started: str, pull_started: str) -> None:
        assert self.spec is not None
        user = self._stop_requested.is_set()
        if not user:
            self._mark_stopped_on_moto(ecs_events.EXITED_REASON)
            user = self.stop_reason is not None  # StopTask raced the exit
        code = ecs_events.USER_INITIATED if user else ecs_events.ESSENTIAL_CONTAINER_EXITED
        reason = (self.stop_reason or "") if user else ecs_events.EXITED_REASON
        self._log(f"{self.arn}: exited {self.exit_code} ({code}: {reason})")
        self._deliver(
            ecs_events.stopped_event(
                self.task,
                self.spec.container,
                exit_code=self.exit_code,
                stop_code=code,
                reason=reason,
                started=started,
                pull_started=pull_started,
            )
        )

    def _fail(self, reason: str) -> None:
        """Never started: stopped on moto and reported with TaskFailedToStart."""
        self._log(f"{self.arn}: cannot start: {reason}")
        self._mark_stopped_on_moto(reason[:255])
        container = self.spec.container if self.spec else "agent"
        self._deliver(
            ecs_events.stopped_event(
                self.task,
                container,
                exit_code=None,
                stop_code=ecs_events.TASK_FAILED_TO_START,
                reason=reason,
                started=None,
                container_reason=reason,
            )
        )


def wait_all(runs: list[TaskRun], timeout: float) -> bool:
    """Wait until every run is reported STOPPED; False if some are still going."""
    deadline = time.monotonic() + timeout
    return all(run.done.wait(max(0.0, deadline - time.monotonic())) for run in runs)
