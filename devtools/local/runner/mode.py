"""Where tasks run: in today's agent image (one working container), or on the host."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from devtools.image.build import is_current
from devtools.image.storage import BUILDAH, IMAGE_TAG, image_id

IMAGE = IMAGE_TAG
WORKING_CONTAINER_PREFIX = "cloudagent-local-runner"


def working_container_for(local_root: Path) -> str:
    """The working container of one `make up` (named by its `.local` directory).

    Two deployments on one machine (two checkouts, or the test suite's two `make up`s on two
    workers) must not share it: `make down` removes it, which would kill the other's tasks.
    """
    digest = hashlib.sha256(str(local_root.resolve()).encode()).hexdigest()[:12]
    return f"{WORKING_CONTAINER_PREFIX}-{digest}"


def image_choice() -> tuple[str, str]:
    """Where tasks run, and why: ("image", ...) only when the image is today's `image/`."""
    if not shutil.which("buildah"):
        return "host", "buildah is not installed"
    if os.geteuid() != 0:  # each container runs as its own uid, with files only it can read
        return "host", "the image's containers run under their own uids: the runner needs root"
    if image_id(IMAGE) is None:
        return "host", f"no image {IMAGE}: make image"
    if not is_current(IMAGE):
        return "host", f"{IMAGE} was built from an older image/: make image"
    return "image", f"{IMAGE}, built from today's image/"


def image_available() -> bool:
    """`make image` has built the current agent image (buildah's vfs storage has it)."""
    return image_choice()[0] == "image"


def remove_working_container(name: str) -> None:
    """`make down`: the runner's working container goes with everything else."""
    if shutil.which("buildah"):
        subprocess.run([*BUILDAH, "rm", name], capture_output=True)
