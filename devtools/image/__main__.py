"""``python -m devtools.image`` (``make image``): build, then print size and build time."""

from __future__ import annotations

import argparse
import re
import sys
import time

from devtools import image
from devtools.image.base import dockerfile_base
from devtools.image.build import build_image
from devtools.image.sizes import _mb, image_size, layer_sizes
from devtools.image.storage import IMAGE_TAG, available


def main(argv: list[str] | None = None) -> int:
    """``make image``: build, then print the size and the build time (and layers if asked)."""
    parser = argparse.ArgumentParser(description=image.__doc__.splitlines()[0])
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
