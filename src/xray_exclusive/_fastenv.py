"""``os.environ``'s own bytes mapping for hot-path lookups; read from :mod:`._compat.cpython`.

Example:
    >>> BYTES_ENVIRON is None or isinstance(BYTES_ENVIRON, dict)
    True
"""

from __future__ import annotations

from ._compat.cpython import BYTES_ENVIRON

__all__ = ["BYTES_ENVIRON"]
