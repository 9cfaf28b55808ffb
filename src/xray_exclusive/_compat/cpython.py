"""CPython's ``os.environ._data``: the bytes mapping behind ``os.environ``, for hot-path lookups.

CPython keeps ``os.environ._data`` (POSIX: ``bytes`` keys and values) in step
with every change made through ``os.environ`` (``monkeypatch.setenv``
included); a lookup there costs about 50 ns instead of 2 µs. Where it is
missing or shaped otherwise, :data:`BYTES_ENVIRON` is ``None`` and callers read
the public ``os.environ`` instead.

Example:
    >>> BYTES_ENVIRON is None or isinstance(BYTES_ENVIRON, dict)
    True
"""

from __future__ import annotations

import os
from typing import Any

from . import fell_back

__all__ = ["BYTES_ENVIRON", "bytes_environ"]


def bytes_environ(environ: Any = os.environ) -> Any:
    """``environ._data`` when it is CPython's POSIX bytes mapping, else ``None``.

    Private: ``os._Environ._data`` and ``os._Environ.encodekey`` (CPython 3.11 to 3.14,
    POSIX). Fallback: ``None``, so callers read the public ``os.environ`` (about 2 µs a
    lookup instead of 50 ns), with one warning on POSIX where the mapping is expected; none
    on Windows, whose ``_data`` has ``str`` keys.

    Example:
        >>> bytes_environ(object()) is None
        True
    """
    data = getattr(environ, "_data", None)
    encodekey = getattr(environ, "encodekey", None)
    try:
        if isinstance(data, dict) and encodekey is not None and encodekey("PATH") == b"PATH":
            return data
    except Exception:  # an encodekey of another shape
        pass
    if os.name == "posix" and environ is os.environ:
        fell_back("os.environ._data", "environment lookups on the hot path use os.environ (slower)")
    return None


BYTES_ENVIRON: Any = bytes_environ()
"""``os.environ``'s bytes mapping, or ``None`` where this interpreter has none."""
