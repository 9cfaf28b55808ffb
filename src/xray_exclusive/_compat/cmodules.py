"""CPython's C modules imported alone (``_ast``, ``_socket``, ``_json``, ``_signal``), for start-up or speed.

The public modules import these and re-export them, at the price of their own imports: ``ast`` brings
``enum`` and ``contextlib`` (about 5 ms of the checker's start-up), ``socket`` brings ``enum`` and
``selectors`` (milliseconds of a Lambda's cold start). Each name here is the very object the public module
exposes (``tests/test_compat.py`` holds them to it); checked on CPython 3.11 to 3.14. Fallback: the
public module, which has the same names (no warning: only start-up time is lost).

Example:
    >>> import ast
    >>> ast_nodes.Call is ast.Call and ast_nodes.PyCF_ONLY_AST == ast.PyCF_ONLY_AST
    True
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

try:
    import _ast as ast_nodes
except ImportError:  # pragma: no cover - an interpreter without CPython's `_ast`
    import ast as ast_nodes  # type: ignore[no-redef]

__all__ = ["ast_nodes", "c_getsignal", "json_quote", "socket_module"]


def socket_module() -> ModuleType:
    """``_socket``, whose ``socket``, ``AF_INET`` and ``SOCK_DGRAM`` are ``socket``'s; else ``socket``.

    Example:
        >>> import socket
        >>> socket_module().SOCK_DGRAM == socket.SOCK_DGRAM
        True
    """
    try:
        import _socket as module
    except ImportError:  # pragma: no cover - another Python implementation
        import socket as module  # type: ignore[no-redef]
    return module


def json_quote() -> Callable[[str], str]:
    r"""``json``'s ASCII string encoder (C), the one ``json.dumps`` uses by default; else its Python twin.

    Example:
        >>> import json
        >>> json_quote()("é\t") == json.dumps("é\t")
        True
    """
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:  # pragma: no cover - an interpreter without json's C accelerator
        from json.encoder import py_encode_basestring_ascii as quote
    return quote


def c_getsignal() -> Callable[[int], Any]:
    """``_signal.getsignal``: the C function under ``signal.getsignal``, without its enum conversion.

    ``signal.getsignal`` converts the answer to a ``Handlers`` member and, for a Python handler, raises and
    catches a ``ValueError`` on the way (2 µs warm, 8 µs cold; the runtime asks before every stream's first
    byte). The C function answers the same handler, and the plain ints for ``SIG_DFL`` and ``SIG_IGN``,
    which equal the members. Fallback: ``signal.getsignal``.

    Example:
        >>> import signal
        >>> c_getsignal()(signal.SIGINT) == signal.getsignal(signal.SIGINT)
        True
    """
    try:
        from _signal import getsignal  # type: ignore[import-not-found]  # no stub: the same as signal's
    except ImportError:  # pragma: no cover - another Python implementation
        from signal import getsignal
    found: Callable[[int], Any] = getsignal
    return found
