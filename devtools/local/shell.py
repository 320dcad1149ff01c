"""`python -m devtools.local.shell RUN_ID`: a shell in a local session's task.

The local stand-in for `aws ecs execute-command` (what `POST /v1/sessions` answers in AWS):
the runner keeps each task's directory under `.local/tasks/<task-id>/` with the run id in
it. In host mode the shell opens in the task's workspace; in image mode it is a `buildah run`
in the runner's working container with that workspace mounted, as uid 1000.
"""

from __future__ import annotations

import os
import sys

from devtools.image.storage import BUILDAH
from devtools.local.paths import LocalPaths
from devtools.local.runner.container import IMAGE_WORKSPACE
from devtools.local.runner.mode import working_container_for


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m devtools.local.shell RUN_ID", file=sys.stderr)
        return 2
    paths = LocalPaths.from_env()
    tasks = paths.root / "tasks"
    found = [d for d in tasks.glob("*/run_id") if d.read_text().strip() == args[0]]
    if not found:
        print(f"no local task for {args[0]} under {tasks}", file=sys.stderr)
        return 1
    task_dir = found[0].parent
    workspace = task_dir / "workspace"
    if list(task_dir.glob("run/*/env.sh")):  # image mode: each container's environment file
        argv = [*BUILDAH, "run", "--isolation", "chroot", "--network", "host", "--user", "1000"]
        argv += ["-v", f"{workspace}:{IMAGE_WORKSPACE}", working_container_for(paths.root)]
        argv += ["--", "/bin/bash"]
        os.execvp(argv[0], argv)
    os.chdir(workspace)
    shell = os.environ.get("SHELL", "/bin/bash")
    os.execvp(shell, [shell])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
