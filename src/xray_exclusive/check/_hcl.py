r"""A small, lenient reader of Terraform's native syntax (HCL 2), with line numbers.

It reads what the rules need and no more: blocks (``type "label" { ... }``), attributes, and the values
that are literals (strings without interpolation, numbers, booleans, ``null``, lists and objects of
them). Any other expression (``var.x``, ``merge(...)``, ``a ? b : c``, a template ``"${...}"``) becomes an
``Unknown`` that keeps its source text, so a rule can say "not judged" instead of guessing. Heredocs,
``#``/``//``/``/* */`` comments, nested templates and ``for`` expressions are skipped correctly. A file
that is not HCL raises ``HclError`` (a ``ValueError``) with the line of the problem.

Example:
    >>> body = parse('resource "aws_lambda_function" "f" {\n  timeout = 30\n  role = var.role\n}\n')
    >>> [(b.type, b.labels, b.line) for b in body.blocks]
    [('resource', ('aws_lambda_function', 'f'), 1)]
    >>> fn = body.blocks[0]
    >>> fn.get("timeout"), fn.get("role"), fn.attributes["role"].line
    (30, Unknown('var.role'), 3)
"""

from __future__ import annotations

import bisect
import re

from ..exceptions import DataError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the checker's start-up counts
    from typing import Any, TypeAlias

__all__ = ["Attribute", "Block", "HclError", "Unknown", "Value", "parse"]


class Unknown:
    """An expression the checker does not evaluate; ``text`` is its source (``var.tracing_mode``)."""

    # Plain classes here, not dataclasses: see check/_model.py (start-up time).
    __slots__ = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        object.__setattr__(self, "text", text)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Unknown is immutable: cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and self.text == other.text

    def __hash__(self) -> int:
        return hash((Unknown, self.text))

    def __repr__(self) -> str:
        return f"Unknown({self.text!r})"


if TYPE_CHECKING:
    Value: TypeAlias = str | int | float | bool | list[Any] | dict[str, Any] | Unknown | None
else:  # the same union at run time, without typing's Any
    Value = str | int | float | bool | list | dict | Unknown | None


class HclError(DataError, ValueError):
    """The text is not Terraform's native syntax; ``line`` is where reading stopped."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class Attribute:
    """``name = value`` at ``line``."""

    __slots__ = ("line", "value")

    def __init__(self, value: Value, line: int) -> None:
        self.value = value
        self.line = line

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Attribute) and (self.value, self.line) == (other.value, other.line)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Attribute(value={self.value!r}, line={self.line!r})"


class Block:
    """A block: its type, labels, attributes and nested blocks, and the lines it spans."""

    __slots__ = ("attributes", "blocks", "end", "labels", "line", "type")

    def __init__(
        self,
        type: str,
        labels: tuple[str, ...] = (),
        attributes: dict[str, Attribute] | None = None,
        blocks: list[Block] | None = None,
        line: int = 1,
        end: int = 1,
    ) -> None:
        self.type = type
        self.labels = labels
        self.attributes: dict[str, Attribute] = {} if attributes is None else attributes
        self.blocks: list[Block] = [] if blocks is None else blocks
        self.line = line
        self.end = end

    def _fields(self) -> tuple[object, ...]:
        return (self.type, self.labels, self.attributes, self.blocks, self.line, self.end)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Block) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Block(type={self.type!r}, labels={self.labels!r}, attributes={self.attributes!r}, "
            f"blocks={self.blocks!r}, line={self.line!r}, end={self.end!r})"
        )

    def get(self, name: str, default: Value = None) -> Value:
        """The value of attribute ``name`` (``default`` when absent)."""
        attribute = self.attributes.get(name)
        return default if attribute is None else attribute.value

    def children(self, block_type: str) -> list[Block]:
        """The nested blocks of one type (``tracing_config``, ``cors``...)."""
        return [b for b in self.blocks if b.type == block_type]

    def dynamic(self, block_type: str) -> bool:
        """Whether a ``dynamic "block_type"`` block generates blocks of that type."""
        return any(b.type == "dynamic" and b.labels[:1] == (block_type,) for b in self.blocks)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_TRAILING_COMMENT = re.compile(r"\s*(?:#|//)[^\"\n]*$")
_INLINE = re.compile(r"(?:[ \t\r]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_BLANK = re.compile(r"(?:[ \t\r\n]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_NEXT = re.compile(r'["\n()\[\]{},#/<]')
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_PLAIN = re.compile(r'[^"\\$%\n]+')
_KEYWORDS: dict[str, Value] = {"true": True, "false": False, "null": None}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_CONTINUES = frozenset("?:&|+-*/=<>!,(")
_CLOSING = {"(": ")", "[": "]", "{": "}"}


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def fail(self, message: str, pos: int) -> HclError:
        return HclError(message, self.line(min(pos, self.size)))

    # -- skipping ---------------------------------------------------------------------------------
    def string(self, pos: int) -> tuple[int, str | None]:
        """``text[pos]`` is ``"``: the position after the closing quote, and the literal (None: template)."""
        text, template = self.text, False
        parts: list[str] = []
        i = pos + 1
        while i < self.size:
            char = text[i]
            if char == '"':
                return i + 1, None if template else "".join(parts)
            if char == "\n":
                break
            if char == "\\":
                escape = text[i + 1 : i + 2]
                if escape == "u" or escape == "U":
                    digits = 4 if escape == "u" else 8
                    try:
                        parts.append(chr(int(text[i + 2 : i + 2 + digits], 16)))
                    except ValueError:
                        raise self.fail("invalid unicode escape", i) from None
                    i += 2 + digits
                    continue
                parts.append(_ESCAPES.get(escape, escape))
                i += 2
                continue
            if char in "$%" and text.startswith("{", i + 1):
                template = True
                i = self.skip(i + 2, "}") + 1
                continue
            if char in "$%" and text.startswith(char + "{", i + 1):  # $${ and %%{ escape a template
                parts.append(char + "{")
                i += 3
                continue
            match = _PLAIN.match(text, i)
            if match:
                parts.append(match.group())
                i = match.end()
            else:
                parts.append(char)
                i += 1
        raise self.fail("unterminated string", pos)

    def heredoc(self, pos: int) -> tuple[int, str | None] | None:
        """A heredoc at ``pos``: the position after its closing marker, and its text (None: a template)."""
        match = _HEREDOC.match(self.text, pos)
        if match is None:
            return None
        marker = match.group(2)
        start = i = match.end()
        while i <= self.size:
            end = self.text.find("\n", i)
            end = self.size if end < 0 else end
            if self.text[i:end].strip() == marker:
                body = self.text[start:i]
                if match.group(1):
                    lines = body.split("\n")
                    indent = min((len(s) - len(s.lstrip()) for s in lines if s.strip()), default=0)
                    body = "\n".join(s[indent:] for s in lines)
                return end, None if ("${" in body or "%{" in body) else body
            i = end + 1
        raise self.fail(f"heredoc {marker} is never closed", pos)

    def skip(self, pos: int, stops: str, eof: bool = False) -> int:
        """The position of the first character of ``stops`` outside brackets, strings and comments."""
        text = self.text
        stack: list[str] = []
        i = pos
        while True:
            match = _NEXT.search(text, i)
            if match is None:
                if eof and not stack:
                    return self.size
                raise self.fail("unexpected end of file", self.size if not stack else pos)
            j = match.start()
            char = text[j]
            if char == '"':
                i = self.string(j)[0]
            elif char == "#" or (char == "/" and text.startswith("/", j + 1)):
                end = text.find("\n", j)
                i = self.size if end < 0 else end
            elif char == "/" and text.startswith("*", j + 1):
                end = text.find("*/", j + 2)
                if end < 0:
                    raise self.fail("unterminated comment", j)
                i = end + 2
            elif char == "<":
                doc = self.heredoc(j)
                i = doc[0] if doc else j + 1
            elif char in "([{":
                stack.append(_CLOSING[char])
                i = j + 1
            elif char in ")]}":
                if not stack:
                    if char in stops:
                        return j
                    raise self.fail(f"unexpected {char!r}", j)
                if stack.pop() != char:
                    raise self.fail(f"mismatched {char!r}", j)
                i = j + 1
            elif not stack and char in stops:
                if char == "\n" and self._continues(pos, j):
                    i = j + 1
                    continue
                return j
            else:
                i = j + 1

    def _continues(self, start: int, newline: int) -> bool:
        """An operator at the end of the line, or at the start of the next, continues the expression."""
        before = _TRAILING_COMMENT.sub("", self.text[start:newline]).rstrip()
        if before and before[-1] in _CONTINUES and not before.endswith("*/"):
            return True
        after = _BLANK.match(self.text, newline).end()  # type: ignore[union-attr]
        return self.text[after : after + 1] in ("?", ":") and after < self.size

    # -- values -----------------------------------------------------------------------------------
    def value(self, pos: int, stops: str, eof: bool = False) -> tuple[Value, int]:
        """The expression at ``pos`` up to a stop character: a literal, or ``Unknown`` (its text)."""
        text = self.text
        start = _INLINE.match(text, pos).end()  # type: ignore[union-attr]
        result: Value = Unknown("")
        end = -1
        char = text[start : start + 1]
        if char == '"':
            end, literal = self.string(start)
            result = literal if literal is not None else Unknown("")
        elif char == "[" or char == "{":
            parsed = self.collection(start)
            if parsed is not None:
                result, end = parsed
        elif char == "<":
            doc = self.heredoc(start)
            if doc is not None:
                end, body = doc
                result = body if body is not None else Unknown("")
        elif char:
            number = _NUMBER.match(text, start)
            word = _IDENT.match(text, start)
            if number is not None:
                literal_number = number.group()
                result = (
                    float(literal_number) if any(c in literal_number for c in ".eE") else int(literal_number)
                )
                end = number.end()
            elif word is not None and word.group() in _KEYWORDS:
                result, end = _KEYWORDS[word.group()], word.end()
        if end >= 0:
            after = _INLINE.match(text, end).end()  # type: ignore[union-attr]
            at_stop = (after >= self.size and eof) or (after < self.size and text[after] in stops)
            if at_stop and not (text[after : after + 1] == "\n" and self._continues(start, after)):
                if not isinstance(result, Unknown):
                    return result, after
                return Unknown(text[start:end].strip()), after
        end = self.skip(start, stops, eof)
        expression = _INLINE.sub("", text[start:end]) if "#" in text[start:end] else text[start:end]
        if not expression.strip() and end < self.size and text[end] in stops and "," not in stops:
            raise self.fail("expected an expression", start)
        return Unknown(expression.strip()), end

    def collection(self, pos: int) -> tuple[Value, int] | None:
        """A list or object literal at ``pos`` (its items may be ``Unknown``); None for a ``for``."""
        text, opening = self.text, self.text[pos]
        closing = _CLOSING[opening]
        i = _BLANK.match(text, pos + 1).end()  # type: ignore[union-attr]
        word = _IDENT.match(text, i)
        if word is not None and word.group() == "for" and text[word.end() : word.end() + 1] in " \t\n":
            return None
        items: list[Value] = []
        mapping: dict[str, Value] = {}
        while True:
            i = _BLANK.match(text, i).end()  # type: ignore[union-attr]
            if i >= self.size:
                raise self.fail(f"{opening!r} is never closed", pos)
            if text[i] == closing:
                return (items if opening == "[" else mapping), i + 1
            if opening == "[":
                item, i = self.value(i, ",]")
                items.append(item)
            else:
                key, i = self.key(i)
                item, i = self.value(i, ",\n}")
                mapping[key] = item
            i = _BLANK.match(text, i).end()  # type: ignore[union-attr]
            if text.startswith(",", i):
                i += 1
            elif i < self.size and text[i] != closing and opening == "[":
                raise self.fail("expected ',' or ']'", i)

    def key(self, pos: int) -> tuple[str, int]:
        """An object key (identifier, string or parenthesised expression), and the position after ``=``."""
        text = self.text
        if text.startswith('"', pos):
            end, literal = self.string(pos)
            name = literal if literal is not None else text[pos:end]
        elif text.startswith("(", pos):
            end = self.skip(pos + 1, ")") + 1
            name = text[pos:end]
        else:
            match = _KEY.match(text, pos)
            if match is None:
                raise self.fail("expected an object key", pos)
            name, end = match.group(), match.end()
        i = _INLINE.match(text, end).end()  # type: ignore[union-attr]
        if i < self.size and text[i] in "=:" and not text.startswith("==", i):
            return name, i + 1
        raise self.fail(f"expected '=' after key {name!r}", i)

    # -- bodies -----------------------------------------------------------------------------------
    def body(self, pos: int, block: Block, top: bool) -> int:
        """Read attributes and blocks into ``block`` until its ``}`` (or the end of the file at top level)."""
        text = self.text
        while True:
            pos = _BLANK.match(text, pos).end()  # type: ignore[union-attr]
            if pos >= self.size:
                if top:
                    return pos
                raise self.fail(f"block {block.type} is never closed", self.size)
            if text[pos] == "}":
                if top:
                    raise self.fail("unexpected '}'", pos)
                return pos + 1
            word = _IDENT.match(text, pos)
            if word is None:
                raise self.fail(f"unexpected {text[pos]!r}", pos)
            name, line = word.group(), self.line(pos)
            i = _INLINE.match(text, word.end()).end()  # type: ignore[union-attr]
            if text.startswith("=", i) and not text.startswith("==", i):
                value, pos = self.value(i + 1, "\n}", eof=top)
                block.attributes[name] = Attribute(value, line)
                continue
            labels: list[str] = []
            while True:
                if text.startswith('"', i):
                    end, label = self.string(i)
                    labels.append(label if label is not None else text[i + 1 : end - 1])
                    i = end
                else:
                    label_word = _IDENT.match(text, i)
                    if label_word is None:
                        break
                    labels.append(label_word.group())
                    i = label_word.end()
                i = _INLINE.match(text, i).end()  # type: ignore[union-attr]
            if not text.startswith("{", i):
                raise self.fail(f"expected '=' or a block after {name!r}", i)
            child = Block(name, tuple(labels), line=line)
            pos = self.body(i + 1, child, top=False)
            child.end = self.line(pos - 1)
            block.blocks.append(child)


def parse(text: str) -> Block:
    """The file as one top-level body; raises ``HclError`` when it is not Terraform's native syntax."""
    reader = _Reader(text)
    root = Block("", line=1)
    reader.body(0, root, top=True)
    root.end = reader.line(reader.size)
    return root
