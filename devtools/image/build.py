"""The agent image: ``image/Dockerfile`` built unchanged on the stand-in base, once per change.

Package installs inside the build reach the registries only with this machine's CA bundle
(there is an intercepting egress proxy). It is bind-mounted, read-only, for the build alone:
a temporary directory holding the bundle and an ``npmrc`` naming it is mounted over
``/usr/local/etc`` (npm's global config directory; it exists, empty, in the base, so the mount
leaves no mount point behind in a layer). Nothing of it is copied into the image; the tests
check the image's files and config for it. HTTP(S) proxy variables, if the machine has them,
are passed to ``RUN`` steps by buildah itself (``--http-proxy``, on by default) and are not
recorded in the image.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from devtools.image.base import dockerfile_base, ensure_base, stand_in_key
from devtools.image.storage import (
    CACHE,
    DOCKERFILE,
    IMAGE_DIR,
    IMAGE_TAG,
    available,
    buildah,
    image_label,
    locked,
    replacing,
)
from toolchain.paths import PROJECT_ROOT

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_KEY_LABEL = "org.cloudagent.inputs"
BUILD_MOUNT = "/usr/local/etc"


def npm_build_config(ca_path: str) -> str:
    """The npmrc for the build: the CA bundle plus this machine's registry and proxies, if set."""
    lines = [f"cafile={ca_path}"]
    for key in ("registry", "proxy", "https-proxy", "noproxy"):
        out = subprocess.run(["npm", "config", "get", key], capture_output=True, text=True)
        value = out.stdout.strip()
        if out.returncode == 0 and value and value not in ("null", "undefined"):
            lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def build_mount() -> Iterator[str]:
    """A ``--volume`` spec: CA bundle + npmrc in a temp dir, read-only over /usr/local/etc."""
    with tempfile.TemporaryDirectory(prefix="build-mount-", dir=CACHE) as tmp:
        shutil.copyfile(CA_BUNDLE, Path(tmp) / "ca-certificates.crt")
        (Path(tmp) / "npmrc").write_text(npm_build_config(f"{BUILD_MOUNT}/ca-certificates.crt"))
        os.chmod(tmp, 0o755)
        yield f"{tmp}:{BUILD_MOUNT}:ro"


def image_key(base_key: str) -> str:
    """Hash of the build context (every file under image/) and the base it builds on."""
    digest = hashlib.sha256(base_key.encode())
    for path in sorted(p for p in IMAGE_DIR.rglob("*") if p.is_file()):
        digest.update(f"\0{path.relative_to(IMAGE_DIR)}\0{path.stat().st_mode & 0o111}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_image(tag: str = IMAGE_TAG, layers: bool = False, log=print) -> float | None:
    """Build image/Dockerfile unchanged into ``tag``; the seconds it took, or None if current.

    With the ``vfs`` driver every layer is a full copy of the file system, so a layer-per-step
    build (``--layers``, Docker's behaviour) copies ~600 MB per instruction: minutes. By default
    the steps run in one container and commit once (one layer over the base), and the image is
    labelled with the hash of its inputs: an unchanged ``image/`` is not rebuilt at all.
    ``layers=True`` builds layer by layer, for measuring what each step weighs.
    """
    base = ensure_base(log)
    key = image_key(stand_in_key(base))
    with locked("image"):
        if not layers and is_current(tag):
            return None
        t0 = time.monotonic()
        with replacing(tag), build_mount() as volume:
            buildah(
                "bud",
                "--isolation",
                "chroot",
                f"--layers={str(layers).lower()}",
                "--pull-never",
                "--quiet",
                "--volume",
                volume,
                "--label",
                f"{IMAGE_KEY_LABEL}={key}",
                "--file",
                str(DOCKERFILE),
                "--tag",
                tag,
                str(IMAGE_DIR),
            )
        if layers:  # the intermediate images are full copies each: drop them
            buildah("rmi", "--prune")
        return time.monotonic() - t0


def is_current(tag: str = IMAGE_TAG) -> bool:
    """True when ``tag`` was built from today's image/ on today's stand-in recipe."""
    key = image_key(stand_in_key(dockerfile_base()))
    return image_label(tag, IMAGE_KEY_LABEL) == key


def build_in_background(log_path: Path) -> subprocess.Popen | None:
    """Start ``make image``'s build in its own process unless the image is current.

    A test session calls this while collecting, so a cold build (minutes: debootstrap waits
    on the network and the disk) overlaps the other tests instead of following them; the
    session fixture then waits on the build lock and finds the image current. A second
    caller's build waits on the same lock and exits at once, so nothing is built twice.
    """
    if available() is not None or is_current():
        return None
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "devtools.image"],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def ensure_image(tag: str = IMAGE_TAG) -> str:
    """The image, built once per change of its inputs; what the tests call."""
    build_image(tag, log=lambda msg: print(msg, file=sys.stderr))
    return tag
