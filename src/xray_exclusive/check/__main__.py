"""``python -m xray_exclusive.check [ARGS]``: the same as ``xray-exclusive check [ARGS]``."""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["check", *sys.argv[1:]]))
