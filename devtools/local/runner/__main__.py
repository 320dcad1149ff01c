"""`python -m devtools.local.runner`: the local task runner (`make up` starts it)."""

import sys

from devtools.local.runner.loop import main

if __name__ == "__main__":
    sys.exit(main())
