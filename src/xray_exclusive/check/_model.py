"""The checker's data: a rule, a hit, a finding, and one file handed to the analysers.

Plain classes with ``__slots__``, not dataclasses: ``dataclasses`` and the ``inspect`` it imports would cost
the checker's start-up more than its whole run on a small repository.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    Severity: TypeAlias = Literal["error", "warning", "note"]
    Kind: TypeAlias = Literal["python", "terraform", "dockerfile", "collector"]

PARSE_ERROR = "XE000"
"""The code of a file that could not be read or parsed (exit status 2)."""

Hit = tuple[str, int, int, str]
"""What every analyser emits: ``(code, line, col, detail)``; the run turns it into a :class:`Finding`.

The Terraform analyser, which judges a whole directory at once, pairs each with its file's path.
"""

_SUPPRESS = r"(?:#|//)\s*xe:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?"  # compiled by re's cache on first use


class Rule:
    """One conformance rule: a stable code, what is wrong and what to do, and why it matters.

    Each analyser module declares the rules it emits (its ``RULES``). ``bad`` and ``good`` are complete
    example files, package data at ``examples/<code>/bad/<filename>`` and ``examples/<code>/good/<filename>``
    beside the analysers: the docs show them, and the tests check that ``bad`` raises exactly this rule
    and ``good`` raises nothing. ``spec`` is the project's internal bookkeeping; it is never printed.

    Example:
        >>> from xray_exclusive.check import RULES
        >>> RULES["XE002"].name, RULES["XE002"].severity
        ('xray-async-context', 'error')
    """

    __slots__ = (
        "code",
        "filename",
        "kind",
        "message",
        "name",
        "rationale",
        "severity",
        "spec",
        "streaming_only",
    )

    def __init__(
        self,
        code: str,
        name: str,
        kind: Kind,
        severity: Severity,
        message: str,
        spec: tuple[str, ...],
        rationale: str,
        filename: str,
        streaming_only: bool = False,
    ) -> None:
        self.code = code
        self.name = name
        self.kind: Kind = kind
        self.severity: Severity = severity
        self.message = message
        self.spec = spec
        self.rationale = rationale
        self.filename = filename
        self.streaming_only = streaming_only

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"Rule(code={self.code!r}, name={self.name!r}, kind={self.kind!r}, severity={self.severity!r})"

    @property
    def bad(self) -> str:
        """The example file that raises exactly this rule."""
        return self._example("bad")

    @property
    def good(self) -> str:
        """The same file, fixed: it raises nothing."""
        return self._example("good")

    def _example(self, which: str) -> str:
        from importlib.resources import files

        return (files("xray_exclusive.check") / "examples" / self.code / which / self.filename).read_text(
            "utf-8"
        )


class Finding:
    """One problem at one place: ``path:line:col: code message``.

    Findings compare and sort by place and code (``path``, ``line``, ``col``, ``code``).

    Example:
        >>> Finding("app.py", 3, 1, "XE002", "error", "AsyncContext configured").text()
        'app.py:3:1: XE002 AsyncContext configured'
    """

    __slots__ = ("code", "col", "line", "message", "path", "severity")

    def __init__(self, path: str, line: int, col: int, code: str, severity: Severity, message: str) -> None:
        self.path = path
        self.line = line
        self.col = col
        self.code = code
        self.severity: Severity = severity
        self.message = message

    def _key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Finding) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Finding) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Finding) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Finding) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Finding) -> bool:
        return self._key() >= other._key()

    def __repr__(self) -> str:
        return (
            f"Finding(path={self.path!r}, line={self.line!r}, col={self.col!r}, code={self.code!r}, "
            f"severity={self.severity!r}, message={self.message!r})"
        )

    def text(self) -> str:
        """The ruff-style one-line form."""
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"


class SourceFile:
    """One file to analyse: its display path, text, and whether it belongs to a streaming Lambda."""

    __slots__ = ("_lines", "path", "streaming", "text")

    def __init__(self, path: str, text: str, streaming: bool = False) -> None:
        self.path = path
        self.text = text
        self.streaming = streaming
        self._lines: list[str] | None = None

    def __repr__(self) -> str:
        return f"SourceFile(path={self.path!r}, streaming={self.streaming!r})"

    @property
    def lines(self) -> list[str]:
        """The text split into lines (1-based access through ``line()``)."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def line(self, number: int) -> str:
        """Line ``number`` (1-based), or ``""`` past the end."""
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def suppressed(self, line: int, code: str) -> bool:
        """``# xe: ignore[XE003]`` (or a bare ``# xe: ignore``) on ``line`` or alone on the line above."""
        for number, own_line in ((line, True), (line - 1, False)):
            text = self.line(number)
            if "xe" not in text.lower():
                continue
            match = re.search(_SUPPRESS, text, re.IGNORECASE)
            if match is None:
                continue
            if not own_line and text[: match.start()].strip():
                continue  # the line above counts only when it is a comment of its own
            codes = match.group(1)
            if codes is None or code.upper() in {c.strip().upper() for c in codes.split(",")}:
                return True
        return False
