"""Every private attribute, closure cell and string match of a dependency: one module per dependency.

A dependency's private layout can change in any release without notice. Each use of one
lives here, behind a function whose docstring names the private thing it reads, the
versions it was checked against, and its fallback. Every fallback *fails open*: it logs one
warning (:func:`fell_back`) and returns a safe value, so the library loses a refinement,
never the user's request. ``tests/test_compat.py`` holds each function to the real
dependency, at both ends of the supported range (``nox -s compat``), and
``tests/test_architecture.py`` fails when a private name is used outside this package.

* :mod:`._compat.otel`: OpenTelemetry SDK: the ``BatchSpanProcessor``'s queue (a ``deque``
  that drops its oldest span), and the text of ``Sampler.get_description()``.
* :mod:`._compat.powertools`: Powertools' ``Tracer`` wrapper and its ``capture_response``
  closure cell.
* :mod:`._compat.xray_sdk`: the X-Ray SDK: ``patcher._PATCHED_MODULES``, the recorder
  context's thread-local entity stack (``context._local``), ``Throwable`` built
  without its ``__init__`` into an entity's ``cause``, and the failure path's fast lane
  (a ``Subsegment`` built without its constructor, its annotation and metadata dicts,
  its ``serialize()`` text handed to ``UDPEmitter._send_data``).
* :mod:`._compat.cpython`: CPython's ``os.environ._data`` and ``encodekey``, and ``json``'s C encoder
  (``json.encoder.c_make_encoder``), built once for both X-Ray backends.

Importing any of these modules imports no dependency: each reads ``sys.modules`` or imports
inside the function that needs it (cold start, ``tests/test_package.py``).
"""

from __future__ import annotations

__all__ = ["fell_back"]

_warned: set[str] = set()


def fell_back(what: str, consequence: str) -> None:
    """Log, once per process for each ``what``, that a dependency's private layout was not as expected.

    Example:
        >>> fell_back("doc.example", "nothing is lost")  # logs one warning
        >>> fell_back("doc.example", "nothing is lost")  # and never again
    """
    if what in _warned:
        return
    _warned.add(what)
    import logging

    logging.getLogger("xray_exclusive").warning(
        "xray-exclusive: %s is not what this release expects (the installed dependency changed it); %s. "
        "Please report it with your dependency versions.",
        what,
        consequence,
    )
