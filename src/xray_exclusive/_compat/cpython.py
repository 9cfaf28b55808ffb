"""CPython's internals read for speed: ``os.environ._data``, and ``json``'s C encoder made once.

CPython keeps ``os.environ._data`` (POSIX: ``bytes`` keys and values) in step
with every change made through ``os.environ`` (``monkeypatch.setenv``
included); a lookup there costs about 50 ns instead of 2 µs. Where it is
missing or shaped otherwise, :data:`BYTES_ENVIRON` is ``None`` and callers read
the public ``os.environ`` instead.

:func:`json_encoder` writes ``json.dumps(document, default=str)``'s text without
building a ``JSONEncoder`` and a C encoder for every document (what both X-Ray
backends send).

Example:
    >>> BYTES_ENVIRON is None or isinstance(BYTES_ENVIRON, dict)
    True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from . import fell_back

__all__ = ["BYTES_ENVIRON", "bytes_environ", "json_encoder"]


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


def json_encoder() -> Callable[[Any], str]:
    """``json.dumps(document, default=str)``, as a function whose C encoder is made once.

    ``json.dumps`` makes a ``JSONEncoder`` and, in it, CPython's C encoder on every call; this
    makes the C encoder once, with ``json.dumps``' settings, and checks it once against
    ``json.dumps`` on a probe document. It is made without the check for circular references
    (that check costs about 1.5 µs a subsegment document, and a shared one would not be
    thread-safe): a cycle recurses to the limit instead, and on that ``RecursionError`` the
    document is handed to ``json.dumps`` itself, so a cycle raises ``json.dumps``' own
    ``ValueError("Circular reference detected")`` and a document too deep for it its own
    ``RecursionError``. Every document gives the text, or the exception, ``json.dumps`` gives.

    Private: ``json.encoder.c_make_encoder`` (``_json.make_encoder``) and the order of its
    arguments (CPython 3.11 to 3.14). Fallback: ``JSONEncoder(default=str).encode`` made once
    (what ``json.dumps`` runs: the same text, about 2 µs slower a document), with no warning,
    since only speed is lost (another interpreter, a CPython without ``_json``, an encoder that
    writes otherwise).

    Example:
        >>> import json
        >>> document = {"name": "load", "end_time": 1.5, "why": ValueError("é")}
        >>> json_encoder()(document) == json.dumps(document, default=str)
        True
    """
    import json

    fallback: Callable[[Any], str] = json.JSONEncoder(default=str).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return fallback
    probe = {
        "s": 'é"\n✓\x00',
        "f": [1795986122.5561094, 1e300, float("nan"), float("-inf")],
        "i": [-3, 2**64],
        "b": [True, False, None],
        "d": {"k": {}, "l": []},
        "o": object,  # not JSON: written by default=str
    }
    dumps = json.dumps
    try:  # json.dumps' settings: markers, default, encoder, indent, separators, sort_keys, skipkeys, NaN
        c_encoder = make(
            None, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
        )

        def encode(document: Any) -> str:
            try:
                return "".join(c_encoder(document, 0))
            except RecursionError:  # a cycle (or a document too deep): json.dumps tells which
                return dumps(document, default=str)

        if encode(probe) == dumps(probe, default=str):
            return encode
    except Exception:
        pass
    return fallback
