"""Build the agent image (``image/Dockerfile``) with buildah, on a local stand-in for its base.

There is no Docker engine on the build machines and the production base cannot be pulled, so
the base named by the Dockerfile's ``FROM`` is made here (``base``), the image is built on it
unchanged (``build``), and ``sizes`` measures it. ``storage`` is buildah's storage and the
cache they share. ``python -m devtools.image`` (``make image``) builds and prints size and build
time; ``--layers`` builds layer by layer (as Docker does) and prints the size of each layer.
"""

from devtools.image.base import dockerfile_base, ensure_base
from devtools.image.build import build_image, build_in_background, ensure_image, is_current
from devtools.image.storage import (
    BUILDAH,
    CACHE,
    IMAGE_TAG,
    available,
    buildah,
    image_id,
    image_rootfs,
)

__all__ = [
    "BUILDAH",
    "CACHE",
    "IMAGE_TAG",
    "available",
    "build_image",
    "build_in_background",
    "buildah",
    "dockerfile_base",
    "ensure_base",
    "ensure_image",
    "image_id",
    "image_rootfs",
    "is_current",
]
