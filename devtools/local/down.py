"""`make down`: destroy api, agent, foundation (in that order) and stop what `make up` started.

Running agent tasks are stopped first (as an operator must before deleting a cluster): StopTask
on moto, then the local task runner is stopped, which waits until each agent has ended
(SIGTERM, exit 143) and its STOPPED event reached the deployed handler. A stack
whose state holds no resources is skipped. The processes are stopped by their recorded pid
(never by name), then the pid files, the state file, the synthesized copy, the Terraform work
directories, the runner's task directories, any armed drill fault and the development key
are removed; only the three log files (moto, server, runner) stay for a post-mortem, and the
patches `python -m devtools.run` saved (`patches/`), which are the runs' work.
If a destroy fails, the processes are still stopped - the embedded AWS keeps everything in
memory, so stopping it removes what the destroy could not - and `make down` exits non-zero.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devtools import moto_server
from devtools.deploy import LocalDeployment
from devtools.local import processes
from devtools.local.overrides import write_local_overrides
from devtools.local.paths import LocalPaths
from devtools.local.runner.loop import MARKER as RUNNER_MARKER
from devtools.local.runner.loop import SHUTDOWN_SECONDS
from devtools.local.runner.mode import remove_working_container, working_container_for
from devtools.local.serve import FAULTS_DIR
from devtools.local.session import MOTO_MARKER, SERVE_MARKER, UpError, locked
from devtools.terraform import TerraformError, write_cli_config
from stacks.shared.constants import STACK_NAMES


@dataclass
class DownResult:
    """What `make down` did, and anything it could not clean up."""

    destroyed: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    stopped_tasks: int = 0
    stopped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ports_open: list[int] = field(default_factory=list)
    total_seconds: float = 0.0


def _stop_agent_tasks(deployment: LocalDeployment) -> int:
    ecs = deployment.client("ecs")
    count = 0
    for cluster in ecs.list_clusters().get("clusterArns", []):
        for arn in ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING").get("taskArns", []):
            ecs.stop_task(cluster=cluster, task=arn, reason="make down")
            count += 1
    return count


def _has_resources(deployment: LocalDeployment, stack: str) -> bool:
    try:
        return bool(deployment.state(stack).get("resources"))
    except Exception:  # no state object: never applied
        return False


def disable_distributions(deployment: LocalDeployment, stack: str) -> None:
    """Disable the stack's CloudFront distributions through the API before `destroy`.

    Terraform must disable a distribution before deleting it and then sleeps a fixed 30 s
    before polling, although moto reports the change deployed at once. Disabled beforehand,
    the provider sees `enabled = false` on refresh and goes straight to the delete.
    """
    try:
        resources = deployment.state(stack).get("resources", [])
    except Exception:
        return
    cloudfront = deployment.client("cloudfront")
    for resource in resources:
        if resource.get("type") != "aws_cloudfront_distribution":
            continue
        for instance in resource.get("instances", []):
            current = cloudfront.get_distribution_config(Id=instance["attributes"]["id"])
            config = current["DistributionConfig"]
            if config["Enabled"]:
                config["Enabled"] = False
                cloudfront.update_distribution(
                    Id=instance["attributes"]["id"],
                    IfMatch=current["ETag"],
                    DistributionConfig=config,
                )


def destroy_stack(deployment: LocalDeployment, stack: str) -> str:
    """`terraform destroy` of one stack on moto; Terraform's output is kept as destroy.log."""
    write_local_overrides(deployment, stack)
    disable_distributions(deployment, stack)
    if stack == "foundation":
        deployment.release_deletion_protection()
    output = deployment.prepare(stack).destroy()
    (deployment.workdir(stack) / "destroy.log").write_text(output)
    return output


def destroy_stacks(
    paths: LocalPaths, state: dict, result: DownResult, out: Callable[[str], None]
) -> LocalDeployment:
    """Destroy the three stacks in reverse order on the running moto server."""
    moto = moto_server.MotoServer(port=state["moto_port"], process=None)  # type: ignore[arg-type]
    deployment = LocalDeployment(
        synth_dir=Path(state["synth_dir"]),
        workroot=paths.work_dir,
        moto=moto,
        bucket=state["bucket"],
        region=state["region"],
        cli_config=write_cli_config(paths.cli_config),
    )
    result.stopped_tasks = _stop_agent_tasks(deployment)
    if result.stopped_tasks:
        out(f"stopped {result.stopped_tasks} agent task(s) still running")
    stop_runner(paths, result, out)
    out("stacks (reverse order):")
    for stack in reversed(STACK_NAMES):
        if not _has_resources(deployment, stack):
            out(f"  {stack:<11} nothing to destroy")
            result.skipped.append(stack)
            continue
        out(f"  {stack:<11} destroy ...")
        started = time.monotonic()
        try:
            destroy_stack(deployment, stack)
        except TerraformError as error:
            result.errors.append(f"{stack}: {error}")
            out(f"  {stack:<11} destroy FAILED: {str(error).splitlines()[0]}")
            break  # the earlier stacks are still read by this one; do not go on
        result.destroyed[stack] = time.monotonic() - started
        out(f"  {stack:<11} destroyed in {result.destroyed[stack]:5.1f}s")
    return deployment


def stop_runner(paths: LocalPaths, result: DownResult, out: Callable[[str], None]) -> None:
    """Stop the task runner; it first sees its agents end and reports them STOPPED."""
    pid = processes.read_pid(paths.pid_file("runner"))
    if processes.stop(pid, RUNNER_MARKER, timeout=SHUTDOWN_SECONDS + 10):
        result.stopped.append("task runner")
        out(f"stopped task runner (pid {pid}); its agents ended first")


def _stop_servers(
    server_pid: int | None, moto_pid: int | None, result: DownResult, out: Callable[[str], None]
) -> None:
    """Stop the API server, then moto (the embedded AWS and all it held)."""
    for name, pid, marker in (
        ("API server", server_pid, SERVE_MARKER),
        ("moto server", moto_pid, MOTO_MARKER),
    ):
        if processes.stop(pid, marker):
            result.stopped.append(name)
            out(f"stopped {name} (pid {pid})")


def _remove_local_files(paths: LocalPaths) -> None:
    """What `make up` left under `.local/` but the logs and the runs' patches."""
    for path in (
        paths.pid_file("moto"),
        paths.pid_file("server"),
        paths.pid_file("runner"),
        paths.root / "runner-tasks.json",
        paths.state_file,
        paths.serve_config,
        paths.cli_config,
        paths.key_file,
    ):
        path.unlink(missing_ok=True)
    remove_working_container(working_container_for(paths.root))
    for directory in (
        paths.work_dir,
        paths.synth_dir,
        paths.root / "tasks",
        paths.root / "repos",
        paths.root / FAULTS_DIR,  # a fault a drill armed must not outlive its make up
    ):
        shutil.rmtree(directory, ignore_errors=True)


def down(
    paths: LocalPaths | None = None,
    *,
    out: Callable[[str], None] = print,
    inspect: Callable[[LocalDeployment], None] | None = None,
) -> DownResult:
    """Tear everything down; see the module docstring.

    `inspect`, if given, sees the embedded AWS after the destroys and before it stops (the
    test uses it to look for leftovers, which vanish with the server's memory).
    """
    paths = paths or LocalPaths.from_env()
    result = DownResult()
    begun = time.monotonic()
    if not paths.root.exists():
        out("nothing is up")
        return result
    with locked(paths):
        state = paths.load_state()
        moto_pid = processes.read_pid(paths.pid_file("moto"))
        server_pid = processes.read_pid(paths.pid_file("server"))
        if processes.alive(moto_pid, MOTO_MARKER) and state.get("synth_dir"):
            deployment = destroy_stacks(paths, state, result, out)
            if inspect is not None:
                inspect(deployment)
        elif state:
            out("moto server is not running: nothing deployed is left to destroy")
        else:
            out("nothing is up")
        if "task runner" not in result.stopped:  # moto was gone: nothing to stop first
            stop_runner(paths, result, out)
        _stop_servers(server_pid, moto_pid, result, out)
        ports = [state.get("moto_port"), *state.get("ports", {}).values()]
        result.ports_open = [p for p in ports if p and processes.port_open(p)]
        _remove_local_files(paths)
    paths.lock_file.unlink(missing_ok=True)
    result.total_seconds = time.monotonic() - begun
    if result.ports_open:
        result.errors.append(f"ports still open: {result.ports_open}")
    out(
        f"down in {result.total_seconds:.1f}s; "
        + ("nothing left running" if not result.ports_open else f"STILL OPEN: {result.ports_open}")
        + (f"; logs kept in {paths.root}" if any(paths.root.glob("*.log")) else "")
    )
    return result


def main() -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        result = down(out=lambda line: print(line, flush=True))
    except UpError as error:
        print(f"make down: {error}", file=sys.stderr)
        return 1
    for error in result.errors:
        print(f"make down: {error}", file=sys.stderr)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
