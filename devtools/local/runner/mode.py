"""Where tasks run: in today's agent image (one working container), or on the host."""

from __future__ import annotations

import os
import shutil
import subprocess

from devtools.image.build import is_current
from devtools.image.storage import BUILDAH, IMAGE_TAG, image_id

IMAGE = IMAGE_TAG
WORKING_CONTAINER = "cloudagent-local-runner"


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


def remove_working_container(name: str = WORKING_CONTAINER) -> None:
    """`make down`: the runner's working container goes with everything else."""
    if shutil.which("buildah"):
        subprocess.run([*BUILDAH, "rm", name], capture_output=True)
