"""`python -m devtools.dev_token`: a bearer token the API of `make up` accepts.

Signed by the development issuer `make up` started (its key is in `.local/`), for the deployed
audience and the development subject the local server allows. Useless against a real
deployment: that one trusts only GitHub's issuer.
"""

from __future__ import annotations

import argparse
import sys

from devtools.local.oidc import DevIssuer
from devtools.local.paths import LocalPaths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dev_token", description=__doc__)
    parser.add_argument("--sub", help="subject claim (default: the one the local API allows)")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    args = parser.parse_args(argv)
    paths = LocalPaths.from_env()
    state = paths.load_state()
    if not state.get("issuer_url"):
        print("nothing is up: run `make up` first", file=sys.stderr)
        return 1
    issuer = DevIssuer.load(state["issuer_url"], paths.key_file)
    print(issuer.token(state["audience"], args.sub or state["subject"], ttl_seconds=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
