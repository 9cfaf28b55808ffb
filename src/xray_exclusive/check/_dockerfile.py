"""Dockerfile rules: the collector extension image pinned by digest, and copied to ``/opt/extensions/``."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ._model import SourceFile

# (code, line, col, detail)
Hit = tuple[str, int, int, str]

_COLLECTOR_IMAGES = (
    "aws-otel-lambda",
    "aws-observability/",
    "opentelemetry-lambda",
    "opentelemetry-collector",
)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_COLLECTOR_HINTS = ("OPENTELEMETRY_COLLECTOR_CONFIG", "/opt/collector-config", "collector")


@dataclass
class Instruction:
    """One instruction, continuation lines joined; ``line`` is where it starts."""

    line: int
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    r"""The instructions of a Dockerfile, comments dropped, ``\`` continuations joined.

    Example:
        >>> [(i.line, i.keyword) for i in instructions("# x\nFROM a \\\n  AS b\nRUN c\n")]
        [(2, 'FROM'), (4, 'RUN')]
    """
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        keyword, _, arguments = " ".join(pending).partition(" ")
        found.append(Instruction(start, keyword.upper(), arguments.strip()))
        pending = []
    return found


def _expand(text: str, args: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        return args.get(name, match.group(2) or "")

    return _VARIABLE.sub(value, text)


def _is_collector_image(reference: str) -> bool:
    return any(marker in reference for marker in _COLLECTOR_IMAGES)


def analyse(source: SourceFile) -> list[Hit]:
    r"""Every Dockerfile rule over one file.

    Example:
        >>> image = "public.ecr.aws/aws-observability/aws-otel-lambda-extension-amd64:latest"
        >>> analyse(SourceFile("Dockerfile", f"FROM {image} AS otel\n"))[0][:2]
        ('XE040', 1)
    """
    hits: list[Hit] = []
    args: dict[str, str] = {}
    stages: set[str] = set()
    uses_collector = source.streaming
    copies_extension = False
    first = 0
    for instruction in instructions(source.text):
        words = shlex.split(instruction.arguments, posix=True) if instruction.arguments else []
        if instruction.keyword == "ARG" and words:
            name, _, default = words[0].partition("=")
            args.setdefault(name, default)
        elif instruction.keyword == "FROM" and words:
            first = first or instruction.line
            options = [w for w in words if not w.startswith("--")]
            image = _expand(options[0], args) if options else ""
            if len(options) >= 3 and options[1].upper() == "AS":
                stages.add(options[2].lower())
            hits.extend(_pinned(image, instruction, source))
            uses_collector |= _is_collector_image(image)
        elif instruction.keyword in ("COPY", "ADD"):
            sources = [w for w in words if not w.startswith("--")]
            origin = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), "")
            origin = _expand(origin, args)
            if origin and origin.lower() not in stages and not origin.isdigit():
                hits.extend(_pinned(origin, instruction, source))
                uses_collector |= _is_collector_image(origin)
            if sources and _expand(sources[-1], args).rstrip("/").startswith("/opt/extensions"):
                copies_extension = True
        if any(hint in instruction.arguments for hint in _COLLECTOR_HINTS):
            uses_collector = True
    if uses_collector and not copies_extension:
        hits.append(("XE041", first or 1, 1, "no COPY or ADD into /opt/extensions/"))
    return hits


def _pinned(image: str, instruction: Instruction, source: SourceFile) -> list[Hit]:
    if not _is_collector_image(image) or "@sha256:" in image:
        return []
    column = source.line(instruction.line).find(image.split(":")[0].split("@")[0]) + 1
    return [("XE040", instruction.line, max(column, 1), image)]
