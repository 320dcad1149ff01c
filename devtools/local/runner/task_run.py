"""One task from start to STOPPED, as Fargate would carry it: the life of its containers.

Started by the runner in a thread of its own; that thread starts every container and stays
until the last has exited (a container's parent-death signal is tied to the thread that
started it). In order:

1. resolve what ECS recorded (`task_spec`: every container, its secrets, its overrides); a
   task that cannot start (a secret ECS could not read, a container that fails to exec) is
   stopped on moto and reported STOPPED with `TaskFailedToStart` and a reason;
2. start the containers in dependency order (`dependsOn`): a container waits for those it
   needs to START, to COMPLETE, or to exit 0 (SUCCESS). A SUCCESS dependency that exits
   non-zero stops the task before the container that needed it exists, with the reason the
   ECS agent gives (`CannotStartContainerError: dependency graph: ...`);
3. report RUNNING once every container has started, and copy each container's stdout into
   its own awslogs stream (`agent/<container>/<task-id>`) as it comes;
4. the task ends when an essential container exits, or on StopTask (`stop()`): the others
   are stopped as ECS stops them, dependents first (the agent before the model proxy, which
   then writes its last usage line) - SIGTERM, then SIGKILL after that container's
   stopTimeout;
5. when every container has exited and every stream is sent: mark the task stopped on moto
   (if nobody did), and report STOPPED with each container's exit code and the stop reason.
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
from devtools.local.runner.container import Launcher
from devtools.local.runner.running import Running
from devtools.local.runner.task_spec import START, SUCCESS, CannotStart, TaskSpec, resolve

Deliver = Callable[[dict[str, Any]], Any]
TICK = 0.1


class TaskRun:
    """The containers of one task and what the runner knows about them."""

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
        self.running: dict[str, Running] = {}  # started containers, by name
        self.exit_code: int | None = None
        self.stop_reason: str | None = None
        self.failure: str | None = None  # why the task could not start all its containers
        self.done = threading.Event()
        self._stop_requested = threading.Event()

    def stop(self, reason: str) -> None:
        """StopTask reached the task: the task's thread stops every running container."""
        if not self._stop_requested.is_set():
            self.stop_reason = reason or "Task stopped by user"
            self._stop_requested.set()

    # -- life --------------------------------------------------------------------------------

    def run(self) -> None:
        """The whole life of the task (blocks until it is STOPPED and reported)."""
        try:
            self._run()
        except Exception as error:  # never leave a task half-reported
            self._log(f"{self.arn}: runner error {error!r}")
            self._stop_all()
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
        started = self._start_all()
        if started and not self.failure:
            self._log(f"{self.arn}: started ({self._launcher.mode}, run {self.spec.run_id})")
            self._deliver(
                ecs_events.running_event(
                    self.task,
                    self.spec.container,
                    pull_started=pull_started,
                    started=started,
                    others=self._entries(running=True),
                )
            )
            self._wait_for_end()
        self._stop_all()
        if self.failure and not self.running:  # nothing ran: as before any container existed
            self._fail(self.failure)
            return
        self._stopped(started, pull_started)

    def _start_all(self) -> str | None:
        """Start the containers in order; when the last started (None if the task ended or
        failed first: `failure` says why when it failed)."""
        assert self.spec is not None
        files, bare = self._launcher.prepare(self.spec)
        for container in self.spec.containers:
            for needed, condition in container.depends_on:
                if condition == START:
                    continue  # started before it: the order is the dependency order
                code = self._wait_for_exit(needed)
                if code is None:
                    return None  # stopped, or an essential container ended the task
                if condition == SUCCESS and code != 0:
                    self.failure = (
                        "CannotStartContainerError: dependency graph: failed to resolve "
                        f"container ordering dependency [{needed} (STOPPED) - Exit: {code}] for "
                        f"target [{container.name} (NONE->RUNNING)]: {container.name} was never "
                        f"started because {needed} did not succeed"
                    )
                    return None
            if self._should_end():
                return None
            stderr = self._stderr_dir / f"{self.spec.task_id}.{container.name}.stderr"
            try:
                self.running[container.name] = Running.start(
                    self._launcher, self.spec, container, files, bare, self._client, stderr
                )
            except OSError as error:
                reason = error.strerror or str(error)
                self.failure = f"CannotStartContainerError: {container.name}: {reason}"[:255]
                return None
        return ecs_events.iso()

    def _should_end(self) -> bool:
        """StopTask arrived, or an essential container has exited."""
        if self._stop_requested.is_set():
            return True
        return any(r.spec.essential and r.exited for r in self.running.values())

    def _wait_for_exit(self, name: str) -> int | None:
        """The exit code of `name` once it exits; None if the task ends before."""
        running = self.running.get(name)
        if running is None:
            return None
        while not running.exited:
            if self._should_end():
                return None
            time.sleep(TICK)
        return running.exit_code

    def _wait_for_end(self) -> None:
        while not self._should_end() and not all(r.exited for r in self.running.values()):
            time.sleep(TICK)

    def _stop_all(self) -> None:
        """Stop what still runs, dependents first (reverse start order), as ECS stops a
        task's containers; each gets SIGTERM, then SIGKILL after its stopTimeout. Then send
        every container's last lines."""
        for running in reversed(list(self.running.values())):
            if running.exited:
                continue
            why = self.stop_reason if self._stop_requested.is_set() else "task stopping"
            self._log(f"{self.arn}: {running.spec.name} <- SIGTERM ({why})")
            running.launch.signal(signal.SIGTERM)
            deadline = time.monotonic() + running.spec.stop_timeout
            while not running.exited and time.monotonic() < deadline:
                time.sleep(TICK)
            if not running.exited:
                self._log(f"{self.arn}: {running.spec.name}: stopTimeout passed -> SIGKILL")
                running.launch.signal(signal.SIGKILL, wait_seconds=0)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.launch.process.pid, signal.SIGKILL)
        for running in self.running.values():
            running.finish(self._log, self.arn)

    # -- reports -----------------------------------------------------------------------------

    def _entries(self, running: bool = False) -> list[dict[str, Any]]:
        """ECS's container entries of every container but the main one."""
        assert self.spec is not None
        found = []
        for container in self.spec.containers:
            if container is self.spec.main:
                continue
            entry: dict[str, Any] = {"name": container.name}
            ran = self.running.get(container.name)
            if ran is not None and ran.exited:
                entry["exitCode"] = ran.exit_code
            if running:
                entry["lastStatus"] = "RUNNING" if ran and not ran.exited else "STOPPED"
            found.append(entry)
        return found

    def _mark_stopped_on_moto(self, reason: str) -> None:
        """The task ended by itself: ECS stops the task (moto does not know on its own)."""
        ecs = self._client("ecs")
        with contextlib.suppress(Exception):
            [task] = ecs.describe_tasks(cluster=self.task["clusterArn"], tasks=[self.arn])["tasks"]
            if task.get("desiredStatus") == "STOPPED":
                self.stop_reason = self.stop_reason or task.get("stoppedReason")
                return
            ecs.stop_task(cluster=self.task["clusterArn"], task=self.arn, reason=reason)

    def _stopped(self, started: str | None, pull_started: str) -> None:
        assert self.spec is not None
        main = self.running.get(self.spec.container)
        self.exit_code = main.exit_code if main is not None else None
        user = self._stop_requested.is_set()
        if not user:
            self._mark_stopped_on_moto(self.failure or ecs_events.EXITED_REASON)
            user = self.stop_reason is not None  # StopTask raced the exit
        if user:
            code, reason = ecs_events.USER_INITIATED, self.stop_reason or ""
        elif self.failure:  # a dependency failed: the main container never started
            code, reason = ecs_events.TASK_FAILED_TO_START, self.failure
        else:
            code, reason = ecs_events.ESSENTIAL_CONTAINER_EXITED, ecs_events.EXITED_REASON
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
                container_reason=self.failure if main is None else None,
                others=self._entries(),
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
