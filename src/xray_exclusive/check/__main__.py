"""``python -m xray_exclusive.check``: the same as ``xray-exclusive check``."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
