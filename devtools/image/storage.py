"""Where the image's parts live: the build context, buildah's storage (``vfs``) and the cache.

The stand-in base and the image are kept in buildah's storage; the base's OCI archive, the
build locks and the build's temporary mounts are kept in ``CACHE``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from toolchain.paths import PROJECT_ROOT

IMAGE_DIR = PROJECT_ROOT / "image"
DOCKERFILE = IMAGE_DIR / "Dockerfile"
IMAGE_TAG = "localhost/cloudagent-agent:local"
# Where the stand-in's OCI archive is kept; CLOUDAGENT_IMAGE_CACHE moves it (e.g. outside a
# clone, so a fresh clone on the same machine reuses it).
CACHE = Path(os.environ.get("CLOUDAGENT_IMAGE_CACHE") or PROJECT_ROOT / ".cache" / "image-base")


# Every buildah call names the ``vfs`` driver (the one that works here: no overlay in a
# sandbox), so storage set up by any earlier call is read the same way: on a machine whose
# default driver is overlay, a call without it does not see the image `make image` built.
BUILDAH = ("buildah", "--storage-driver", "vfs")


def buildah(*args: str, capture: bool = True) -> str:
    """Run buildah on the project's storage (``BUILDAH``); stdout, or RuntimeError."""
    proc = subprocess.run(
        [*BUILDAH, *args],
        capture_output=capture,
        text=True,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or "").strip()[-2000:] if capture else ""
        raise RuntimeError(f"buildah {' '.join(args[:3])} … failed ({proc.returncode}) {detail}")
    return (proc.stdout or "").strip()


def available() -> str | None:
    """Why the image cannot be built here, or None when it can (buildah, debootstrap, root)."""
    for tool in ("buildah", "debootstrap", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y buildah debootstrap)"
    if os.geteuid() != 0:
        return "building the stand-in base (debootstrap, chroot) needs root"
    return None


# --- the images in buildah's storage ------------------------------------------------------
def image_label(reference: str, label: str) -> str | None:
    """A label of a local image, or None when the image is not in buildah's storage."""
    try:
        out = buildah("inspect", "--type", "image", reference)
    except RuntimeError:
        return None
    labels = json.loads(out).get("OCIv1", {}).get("config", {}).get("Labels") or {}
    return labels.get(label)


def image_id(reference: str) -> str | None:
    """The id of a local image, or None."""
    try:
        return json.loads(buildah("inspect", "--type", "image", reference))["FromImageID"]
    except RuntimeError:
        return None


@contextlib.contextmanager
def replacing(reference: str) -> Iterator[None]:
    """Remove the image ``reference`` named before the block once it names a new one.

    With ``vfs`` an image is a full copy (hundreds of MB); an untagged old one is just waste.
    It stays if a container still uses it (buildah refuses; that is fine).
    """
    old = image_id(reference)
    yield
    if old and old != image_id(reference):
        subprocess.run([*BUILDAH, "rmi", old], capture_output=True)


def image_rootfs(reference: str) -> Path:
    """The file tree of a local image, read in place without making a container.

    With the ``vfs`` driver each layer's directory holds the whole file system up to that
    layer, so the image's top layer directory is the image. (This reads containers/storage's
    own bookkeeping, ``vfs-images/images.json``: good for inspecting, never for writing.)
    """
    root = Path(json.loads(buildah("info"))["store"]["GraphRoot"])
    wanted = image_id(reference)
    images = json.loads((root / "vfs-images/images.json").read_text())
    layer = next(entry["layer"] for entry in images if entry["id"] == wanted)
    return root / "vfs/dir" / layer


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """An exclusive file lock, so two builds (make image and a test session) do not race."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
