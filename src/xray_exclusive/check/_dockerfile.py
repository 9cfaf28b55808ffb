"""Dockerfile rules: the collector extension image pinned by digest, and copied to ``/opt/extensions/``."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ._model import SourceFile
from ._vendors import is_xray_destination, vendor_image, vendor_package

# (code, line, col, detail)
Hit = tuple[str, int, int, str]

_COLLECTOR_IMAGES = (
    "aws-otel-lambda",
    "aws-observability/",
    "opentelemetry-lambda",
    "opentelemetry-collector",
)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_COLLECTOR_HINTS = ("OPENTELEMETRY_COLLECTOR_CONFIG", "/opt/collector-config")
_LAMBDA_COLLECTOR_IMAGES = ("aws-otel-lambda", "opentelemetry-lambda", "otel-lambda", "collector-extension")
_SPLIT = frozenset({"ARG", "FROM", "COPY", "ADD", "ENV", "RUN"})
_INSTALLERS = ("pip", "pip3", "npm", "yarn", "uv", "poetry", "pnpm")
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


_WORDS = (*_COLLECTOR_IMAGES, *_COLLECTOR_HINTS, "/opt/extensions", "OTEL_EXPORTER", *_INSTALLERS)
_VENDOR_WORDS = re.compile(
    r"datadog|newrelic|lumigo|dynatrace|instana|epsagon|thundra|honeycomb|elastic", re.I
)


def needs_parse(text: str, streaming: bool) -> bool:
    r"""Whether a Dockerfile rule could fire: a collector, an extension, an OTLP endpoint, an install.

    Example:
        >>> needs_parse("FROM python:3.13\nCOPY app.py .\n", False), needs_parse("FROM python:3.13\n", True)
        (False, True)
    """
    return streaming or any(word in text for word in _WORDS) or bool(_VENDOR_WORDS.search(text))


def words_of(arguments: str) -> list[str]:
    """Shell-like words; an unbalanced quote (``RUN echo it's fine``) falls back to plain whitespace.

    Example:
        >>> words_of("echo it's fine"), words_of('--from=a "b c"')
        (['echo', "it's", 'fine'], ['--from=a', 'b c'])
    """
    if not arguments:
        return []
    try:
        return shlex.split(arguments, posix=True)
    except ValueError:
        return arguments.split()


def _env_pairs(words: list[str]) -> list[tuple[str, str]]:
    """``ENV A=1 B=2`` and the legacy ``ENV A 1``."""
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words if "=" in w]


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
        words = words_of(instruction.arguments) if instruction.keyword in _SPLIT else []
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
            hits.extend(_vendor_image(image, instruction))
            uses_collector |= any(marker in image for marker in _LAMBDA_COLLECTOR_IMAGES)
        elif instruction.keyword in ("COPY", "ADD"):
            sources = [w for w in words if not w.startswith("--")]
            origin = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), "")
            origin = _expand(origin, args)
            if origin and origin.lower() not in stages and not origin.isdigit():
                hits.extend(_pinned(origin, instruction, source))
                hits.extend(_vendor_image(origin, instruction))
                uses_collector |= any(marker in origin for marker in _LAMBDA_COLLECTOR_IMAGES)
            if sources and _expand(sources[-1], args).rstrip("/").startswith("/opt/extensions"):
                copies_extension = True
        elif instruction.keyword == "ENV":
            for name, value in _env_pairs(words):
                value = _expand(value, args)
                if name in _ENDPOINTS and "$" not in value and not is_xray_destination(value):
                    hits.append(("XE063", instruction.line, 1, f"{name}={value}"))
        elif instruction.keyword == "RUN" and any(w in _INSTALLERS for w in words):
            vendors = [p for w in words if not w.startswith("-") and (p := vendor_package(w))]
            if vendors:
                hits.append(("XE063", instruction.line, 1, f"installs {', '.join(vendors)}"))
        if any(hint in instruction.arguments for hint in _COLLECTOR_HINTS):
            uses_collector = True
    if uses_collector and not copies_extension:
        hits.append(("XE041", first or 1, 1, "no COPY or ADD into /opt/extensions/"))
    return hits


def _vendor_image(image: str, instruction: Instruction) -> list[Hit]:
    return (
        [("XE063", instruction.line, 1, f"{image}: a tracing vendor's extension")]
        if vendor_image(image)
        else []
    )


def _pinned(image: str, instruction: Instruction, source: SourceFile) -> list[Hit]:
    if not _is_collector_image(image) or "@sha256:" in image:
        return []
    column = source.line(instruction.line).find(image.split(":")[0].split("@")[0]) + 1
    return [("XE040", instruction.line, max(column, 1), image)]
