"""``python -m xray_exclusive.runtime``: the container's entry point."""

from __future__ import annotations

import sys

from ._loop import main

sys.exit(main())
