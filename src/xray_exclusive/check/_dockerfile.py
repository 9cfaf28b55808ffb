"""Dockerfile rules: the collector extension image pinned by digest, and copied to ``/opt/extensions/``."""

from __future__ import annotations

import re

from ._model import Hit, Rule, SourceFile
from ._vendors import ENDPOINT_VARIABLES, is_xray_destination, vendor_image, vendor_package

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


_WORDS = (*_COLLECTOR_IMAGES, *_COLLECTOR_HINTS, "/opt/extensions", "OTEL_EXPORTER", *_INSTALLERS)
_VENDOR_WORDS = re.compile(
    r"datadog|newrelic|lumigo|dynatrace|instana|epsagon|thundra|honeycomb|elastic", re.I
)


RULES = (
    Rule(
        code="XE040",
        name="collector-image-not-pinned",
        kind="dockerfile",
        severity="error",
        message="collector extension image referenced by tag: pin it by @sha256: digest",
        spec=("FR-063", "FR-070"),
        rationale="Tags move: a rebuild could bring a collector whose configuration schema or exporters "
        "changed.",
        filename="Dockerfile",
    ),
    Rule(
        code="XE041",
        name="collector-not-in-extensions",
        kind="dockerfile",
        severity="error",
        message="the collector is not copied to /opt/extensions/: COPY it there, Lambda starts only "
        "extensions found in that directory",
        spec=("FR-069", "SC-029"),
        rationale="Without the extension nothing listens on localhost:4318 and every span export fails.",
        filename="Dockerfile",
    ),
    Rule(
        code="XE063",
        name="second-tracing-backend-dockerfile",
        kind="dockerfile",
        severity="error",
        message="second tracing backend (a tracing vendor's Lambda extension or SDK installed in the "
        "image, or OTEL_EXPORTER_OTLP_ENDPOINT not on loopback): X-Ray is the fleet's only "
        "tracing system; remove it, or keep a deliberate one with `# xe: ignore[XE063]` and the "
        "reason",
        spec=(),
        rationale="A vendor extension in /opt/extensions/ or its SDK in the image sends the function's "
        "traces to a second system, whatever the code says.",
        filename="Dockerfile",
    ),
)
"""The rules this analyser emits (the registry, ``_registry.py``, gathers every analyser's)."""


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
        import shlex  # on first use: the Dockerfiles the pre-filter skips never need it

        return shlex.split(arguments, posix=True)
    except ValueError:
        return arguments.split()


def _env_pairs(words: list[str]) -> list[tuple[str, str]]:
    """``ENV A=1 B=2`` and the legacy ``ENV A 1``."""
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words if "=" in w]


class Instruction:
    """One instruction, continuation lines joined; ``line`` is where it starts."""

    __slots__ = ("arguments", "keyword", "line")

    def __init__(self, line: int, keyword: str, arguments: str) -> None:
        self.line = line
        self.keyword = keyword
        self.arguments = arguments

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instruction) and (self.line, self.keyword, self.arguments) == (
            other.line,
            other.keyword,
            other.arguments,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Instruction(line={self.line!r}, keyword={self.keyword!r}, arguments={self.arguments!r})"


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
                if name in ENDPOINT_VARIABLES and "$" not in value and not is_xray_destination(value):
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
