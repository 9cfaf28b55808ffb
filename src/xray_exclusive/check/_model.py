"""The checker's data: a rule, a finding, and one file handed to the analysers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]
Kind = Literal["python", "terraform", "dockerfile", "collector"]

PARSE_ERROR = "XE000"
"""The code of a file that could not be read or parsed (exit status 2)."""

_SUPPRESS = re.compile(r"(?:#|//)\s*xe:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """One conformance rule: a stable code, what is wrong and what to do, and why it matters.

    ``bad`` and ``good`` are complete example files (``filename`` names them): the docs show them,
    and the tests check that ``bad`` raises exactly this rule and ``good`` raises nothing. ``spec``
    is the project's internal bookkeeping; it is never printed.

    Example:
        >>> from xray_exclusive.check import RULES
        >>> RULES["XE002"].name, RULES["XE002"].severity
        ('xray-async-context', 'error')
    """

    code: str
    name: str
    kind: Kind
    severity: Severity
    message: str
    spec: tuple[str, ...]
    rationale: str
    filename: str
    bad: str
    good: str
    streaming_only: bool = False


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place: ``path:line:col: code message``.

    Example:
        >>> Finding("app.py", 3, 1, "XE002", "error", "AsyncContext configured").text()
        'app.py:3:1: XE002 AsyncContext configured'
    """

    path: str
    line: int
    col: int
    code: str
    severity: Severity = field(compare=False)
    message: str = field(compare=False)

    def text(self) -> str:
        """The ruff-style one-line form."""
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"


@dataclass
class SourceFile:
    """One file to analyse: its display path, text, and whether it belongs to a streaming Lambda."""

    path: str
    text: str
    streaming: bool = False
    _lines: list[str] | None = None

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
            match = _SUPPRESS.search(text)
            if match is None:
                continue
            if not own_line and text[: match.start()].strip():
                continue  # the line above counts only when it is a comment of its own
            codes = match.group(1)
            if codes is None or code.upper() in {c.strip().upper() for c in codes.split(",")}:
                return True
        return False
