"""What the image weighs: in all, and layer by layer (uncompressed and as a registry keeps it)."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from devtools.image.storage import CACHE, buildah


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
