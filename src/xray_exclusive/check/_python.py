"""Python rules, on the syntax tree (``ast``): imports are resolved, so aliases do not hide a call."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator

from .._compat.cmodules import ast_nodes as ast  # node classes and the parser's flag, without `ast`'s imports
from ._model import Hit, Rule, SourceFile
from ._vendors import ENDPOINT_VARIABLES, is_xray_destination, vendor_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RULES = (
    Rule(
        code="XE001",
        name="otel-aws-sdk-instrumentation",
        kind="python",
        severity="error",
        message="OpenTelemetry auto-instrumentation of the AWS SDK in a streaming Lambda: remove it and "
        "trace streaming-phase calls with dynamodb_span()/cloudwatch_span()",
        spec=("FR-076", "SC-033"),
        rationale="BotocoreInstrumentor patches every boto3 call globally: handler-phase calls already "
        "traced by Powertools appear twice in X-Ray.",
        filename="handler.py",
        streaming_only=True,
    ),
    Rule(
        code="XE002",
        name="xray-async-context",
        kind="python",
        severity="error",
        message="AsyncContext configured on the X-Ray recorder: remove it, it loses the trace across "
        "event loops. The SDK's default thread-local context is not safe for concurrent asyncio "
        "tasks either (their subsegments interleave): use xray_exclusive's "
        "failure_path/http_subsegment, whose parentage is context-local, or the OpenTelemetry "
        "backend",
        spec=("FR-037",),
        rationale="AsyncContext stores the trace on the asyncio.Task of the loop it was built on: a new "
        "event loop loses the segment and subsegments go nowhere. The SDK's default context "
        "keeps one entity stack per thread; concurrent tasks push and pop on it in turn, so "
        "subsegments nest in each other's and closing one task's subsegment ends another's "
        "(aws-xray-sdk-python #164).",
        filename="handler.py",
    ),
    Rule(
        code="XE003",
        name="powertools-decorator-on-generator",
        kind="python",
        severity="error",
        message="Powertools tracer decorator on a generator: it times the generator's creation, not its "
        "iteration; open subsegments or spans inside the body instead",
        spec=("FR-031",),
        rationale="capture_method has no async-generator branch, and a streaming handler's generator is "
        "consumed by the metadata serialiser, so the client gets an empty stream.",
        filename="handler.py",
    ),
    Rule(
        code="XE004",
        name="module-level-extract",
        kind="python",
        severity="error",
        message="trace context extracted at module level: extract inside the handler, on every "
        "invocation (invocation_context())",
        spec=("FR-059",),
        rationale="Module code runs once per execution environment: every warm invocation would reuse "
        "the first invocation's trace ID.",
        filename="handler.py",
    ),
    Rule(
        code="XE005",
        name="tracer-provider-per-invocation",
        kind="python",
        severity="error",
        message="TracerProvider built inside a function: build it once at module level "
        "(get_streaming_tracer()) and reuse it",
        spec=("FR-065", "SC-027"),
        rationale="Each provider starts a BatchSpanProcessor thread and an exporter; per invocation they "
        "pile up and spans leave through stale pipelines.",
        filename="handler.py",
        streaming_only=True,
    ),
    Rule(
        code="XE006",
        name="tracer-provider-shutdown-on-exit",
        kind="python",
        severity="error",
        message="TracerProvider without shutdown_on_exit=False: pass it; the atexit shutdown races a "
        "pending export when Lambda recycles the environment",
        spec=("FR-077", "SC-032"),
        rationale="force_flush() at the end of each stream already exports everything; the atexit hook "
        "only adds 'cannot schedule new futures after shutdown'.",
        filename="handler.py",
        streaming_only=True,
    ),
    Rule(
        code="XE007",
        name="always-on-sampler",
        kind="python",
        severity="error",
        message="always-on sampler: use the default parentbased_always_on so Lambda's Sampled=0 is respected",
        spec=("FR-056",),
        rationale="ALWAYS_ON ignores the parent's sampling decision: unsampled invocations export orphan "
        "spans whose parent segment X-Ray never receives. Also found in Terraform "
        '(OTEL_TRACES_SAMPLER = "always_on").',
        filename="handler.py",
    ),
    Rule(
        code="XE008",
        name="powertools-auto-patch-in-streaming",
        kind="python",
        severity="error",
        message="Tracer() without auto_patch=False in a streaming Lambda: pass auto_patch=False",
        spec=("FR-060",),
        rationale="auto-patching makes every boto3 call and every OTLP export (requests) an X-Ray "
        "subsegment too, duplicating the stream's spans.",
        filename="handler.py",
        streaming_only=True,
    ),
    Rule(
        code="XE009",
        name="double-patching",
        kind="python",
        severity="error",
        message="patch_all() or patch([...]) next to a Powertools Tracer that auto-patches: keep one "
        "patching mechanism (drop the patch call, or Tracer(auto_patch=False))",
        spec=("FR-030",),
        rationale="Both patch boto3 and requests: each call is wrapped twice.",
        filename="handler.py",
    ),
    Rule(
        code="XE010",
        name="raw-xray-recorder",
        kind="python",
        severity="warning",
        message="raw xray_recorder call in a non-streaming Lambda: use the Powertools Tracer "
        "(tracer.capture_method, tracer.provider.in_subsegment) or failure_path()",
        spec=("FR-029",),
        rationale="One instrumentation approach per non-streaming Lambda: Powertools records exceptions "
        "as subsegment errors and adds ColdStart and Service.",
        filename="handler.py",
    ),
    Rule(
        code="XE011",
        name="custom-correlation-id",
        kind="python",
        severity="error",
        message="correlation ID other than the X-Ray trace ID: the trace ID is the correlation ID; use "
        "current_trace_id() and the TraceIdFilter for logs",
        spec=("SC-006", "FR-024"),
        rationale="A second ID that X-Ray does not index forces operators out of X-Ray to correlate. "
        "Setting one is flagged: a generated ID, logger.set_correlation_id(), and "
        "correlation_id_path=... (a request ID or an event's id), unless the path reads the X-Ray trace "
        "header (x-amzn-trace-id, as Powertools' APPSYNC_RESOLVER, APPLICATION_LOAD_BALANCER and "
        "VPC_LATTICE paths do). Code that only reads a correlation ID back is not flagged.",
        filename="handler.py",
    ),
    Rule(
        code="XE012",
        name="legacy-latency-cache-logger",
        kind="python",
        severity="error",
        message="latency_logger / cache_logger imported: record latency and cache outcome as X-Ray "
        "annotations on the subsegment instead",
        spec=("FR-022", "FR-023", "FR-006", "FR-007"),
        rationale="Structured log lines beside the trace are the second system the library removes.",
        filename="handler.py",
    ),
    Rule(
        code="XE013",
        name="annotation-value-none",
        kind="python",
        severity="error",
        message="annotation value None: X-Ray drops it; skip the annotation or record a sentinel such as "
        '"none"',
        spec=("FR-006", "FR-008", "FR-009"),
        rationale="The X-Ray SDK silently ignores annotations whose value is not str, number or bool.",
        filename="handler.py",
    ),
    Rule(
        code="XE014",
        name="annotation-key-invalid",
        kind="python",
        severity="error",
        message="annotation key X-Ray drops: use only letters, digits and underscores (at most 250)",
        spec=("FR-006", "FR-008", "FR-009"),
        rationale="The X-Ray SDK drops an annotation whose key has any other character, with only a "
        "warning log.",
        filename="handler.py",
    ),
    Rule(
        code="XE015",
        name="stream-without-force-flush",
        kind="python",
        severity="error",
        message="streaming generator creates spans but has no force_flush() in a finally: wrap it with "
        "traced_stream()/@traced_handler, or flush in a finally",
        spec=("FR-055",),
        rationale="Spans still in the batch queue when the environment freezes leave on the next "
        "invocation, under the wrong trace.",
        filename="handler.py",
        streaming_only=True,
    ),
    Rule(
        code="XE060",
        name="second-tracing-backend-python",
        kind="python",
        severity="error",
        message="second tracing backend (a vendor tracing SDK or an exporter that sends spans somewhere "
        "other than the local collector extension): X-Ray is the fleet's only tracing system; "
        "remove it, or keep a deliberate one with `# xe: ignore[XE060]` and the reason",
        spec=(),
        rationale="Two tracing systems split every investigation: half the story is in a tool the "
        "on-call engineer does not open. OTLP to localhost (the collector extension) reaches "
        "X-Ray; a Datadog, New Relic, Honeycomb... SDK, a Jaeger or Zipkin exporter, or an "
        "OTLP endpoint elsewhere does not.",
        filename="handler.py",
    ),
)
"""The rules this analyser emits (the registry, ``_registry.py``, gathers every analyser's)."""

_STREAMING_IMPORTS = ("opentelemetry", "xray_exclusive.streaming", "xray_exclusive.runtime")
_AWS_INSTRUMENTORS = ("botocore", "boto3sqs", "boto", "aws_lambda")
_TRACER = frozenset(
    {
        "aws_lambda_powertools.Tracer",
        "aws_lambda_powertools.tracing.Tracer",
        "aws_lambda_powertools.tracing.tracer.Tracer",
    }
)
_POWERTOOLS_DECORATORS = frozenset({"capture_method", "capture_lambda_handler"})
_RAW_RECORDER_CALLS = frozenset(
    {"capture", "capture_async", "begin_subsegment", "begin_segment", "in_subsegment", "in_segment"}
)
_PATCHERS = frozenset({"patch_all", "patch"})
_CREATES_ID = frozenset({"generate_correlation_id", "set_correlation_id"})
# Powertools' correlation paths that read the x-amzn-trace-id header (logging/correlation_paths.py)
_TRACE_HEADER_PATHS = frozenset({"APPSYNC_RESOLVER", "APPLICATION_LOAD_BALANCER", "VPC_LATTICE"})
# A literal path that ends at that header, as `headers."x-amzn-trace-id"` (nothing after it, no `||`)
_TRACE_HEADER_PATH = r'(?i)\A(?:[\w."-]+\.)?(?:"x-amzn-trace-id"|x_amzn_trace_id)\s*\Z'
_ID_FACTORIES = ("uuid.uuid1", "uuid.uuid4", "secrets.token_hex", "secrets.token_urlsafe", "ulid.")
_OTLP_EXPORTERS = frozenset({"OTLPSpanExporter"})
_LEGACY_LOGGERS = frozenset({"latency_logger", "cache_logger"})
_SPAN_HELPERS = frozenset({"poll_cycle", "dynamodb_span", "cloudwatch_span", "dispatch_span"})
_SPAN_METHODS = frozenset({"start_as_current_span", "start_span"})
_SINGLETON_CACHES = frozenset({"functools.cache", "functools.lru_cache", "cache", "lru_cache"})
_KEY_LIMIT = 250
_VISIT_RECURSION_LIMIT = 10_000  # a tree CPython can build is at most ~3,000 deep; two frames per level

# -- the textual pre-filter: every rule needs at least one of these words in the file -----------------
# A name hidden behind `import x as y` still appears in the import, so the words are the original names.
_ALWAYS = (
    "AsyncContext",  # XE002
    "invocation_context",  # XE004
    "TracerProvider",  # XE005, XE006
    "ALWAYS_ON",  # XE007
    "AlwaysOn",  # XE007
    "OTEL_TRACES_SAMPLER",  # XE007 (set from Python)
    "OTEL_EXPORTER_OTLP",  # XE060 (set from Python)
    "OTLPSpanExporter",  # XE060
    "generate_correlation_id",  # XE011
    "set_correlation_id",  # XE011
    "correlation_id_path",  # XE011
    "latency_logger",  # XE012
    "cache_logger",  # XE012
)
# The same test in fewer passes over the text: the words holding a common part are looked for only in a
# file that has that part (a word cannot be in a text its part is not in).
_ALWAYS_PARTS = ("OTEL_", "correlation_id", "_logger")
_ALWAYS_GROUPS = tuple((part, tuple(w for w in _ALWAYS if part in w)) for part in _ALWAYS_PARTS) + tuple(
    (word, (word,)) for word in _ALWAYS if not any(part in word for part in _ALWAYS_PARTS)
)


def _has_always_word(text: str) -> bool:
    """``any(word in text for word in _ALWAYS)``, in 9 passes over the text instead of 13 when no part is."""
    return any(part in text and any(word in text for word in words) for part, words in _ALWAYS_GROUPS)


_STREAMING_WORDS = ("instrument", "Instrumentor", "Tracer", "capture_", "yield")  # XE001, XE008, XE003/15
# Patterns, compiled by `re` on first use (and cached there): most runs need none of them, and compiling
# all of every analyser's at import costs a few milliseconds of start-up.
_SAFE_ANNOTATION = (
    r"""put_annotation\(\s*(?:key\s*=\s*)?(["'])[A-Za-z0-9_]{1,250}\1\s*,\s*"""
    r"""(?:value\s*=\s*)?(?!None\b)[^\s)]"""
)
_MODULE_IMPORT = r"^(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+([^\n#]*)|import[ \t]+([\w.]+))"
_STREAMING_IMPORT = (
    r"^(?:from|import)[ \t]+(?:opentelemetry|xray_exclusive\.streaming|xray_exclusive\.runtime)\b"
)


def needs_parse(text: str, streaming: bool) -> bool:
    r"""Whether any Python rule could fire on ``text``; ``False`` lets the checker skip ``ast.parse``.

    Example:
        >>> needs_parse("import json\nprint(json.dumps({}))\n", streaming=False)
        False
        >>> needs_parse("from aws_xray_sdk.core import xray_recorder\n", streaming=False)  # no call of it
        False
        >>> needs_parse("from aws_xray_sdk.core import xray_recorder\nxray_recorder.capture()\n", False)
        True
    """
    if _has_always_word(text) or vendor_module(text, textual=True):
        return True
    if "xray_recorder" in text and any(method in text for method in _RAW_RECORDER_CALLS):  # XE010
        return True
    if "extract" in text and ("propagat" in text or "opentelemetry" in text):  # XE004
        return True
    if "get_correlation_id" in text and any(word in text for word in ("uuid", "secrets", "ulid")):  # XE011
        return True
    if "Tracer" in text and "patch" in text:  # XE009
        return True
    if "capture_" in text and "yield" in text:  # XE003
        return True
    if streaming and any(word in text for word in _STREAMING_WORDS):
        return True
    if "put_annotation" in text:  # XE013, XE014: literal keys of valid characters and a value need no parse
        return text.count("put_annotation") != len(re.findall(_SAFE_ANNOTATION, text))
    return False


def streams_directly(text: str) -> bool:
    r"""A module that imports OpenTelemetry or the library's streaming parts (textual, at column 0).

    Example:
        >>> streams_directly("import os\nfrom opentelemetry import trace\n"), streams_directly("import os\n")
        (True, False)
    """
    return ("opentelemetry" in text or "xray_exclusive." in text) and bool(
        re.search(_STREAMING_IMPORT, text, re.M)
    )


def module_imports(text: str) -> list[str]:
    r"""The modules a file may import at column 0; relative imports keep their leading dots.

    ``from a import b`` gives ``a`` and ``a.b``: ``b`` may be a module.

    Example:
        >>> module_imports("import os\nfrom .tracing import tracer\nfrom . import tracing\n")
        ['os', '.tracing', '.tracing.tracer', '.', '.tracing']
    """
    found: list[str] = []
    for match in re.finditer(_MODULE_IMPORT, text, re.M):
        if match.group(3):
            found.append(match.group(3))
            continue
        module = match.group(1)
        found.append(module)
        for name in match.group(2).replace("(", " ").replace(")", " ").split(","):
            name = name.split(" as ")[0].strip()
            if name.isidentifier():
                found.append(f"{module}{name}" if module.endswith(".") else f"{module}.{name}")
    return found


def is_streaming(tree: ast.Module) -> bool:
    """A module that imports OpenTelemetry or the library's streaming/runtime parts is a streaming Lambda.

    Only module-level imports count (also inside a module-level ``if`` or ``try``).
    """
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If | ast.Try | ast.TryStar):
            pending.extend([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
        if isinstance(node, ast.Import) and any(a.name.startswith(_STREAMING_IMPORTS) for a in node.names):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith(_STREAMING_IMPORTS)
        ):
            return True
    return False


def _valid_key(key: str) -> str | None:
    if not key:
        return "the key is empty"
    if len(key) > _KEY_LIMIT:
        return f"the key is longer than {_KEY_LIMIT} characters"
    bad = sorted({c for c in key if not (c.isascii() and (c.isalnum() or c == "_"))})
    if bad:
        return f"key {key!r} has {''.join(bad)!r}; X-Ray indexes only [A-Za-z0-9_]"
    return None


class _Function:
    """What the single pass learns about one function body (nested functions have their own)."""

    __slots__ = ("creates_spans", "flushes", "generator", "globals", "node", "providers")

    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.node = node
        self.generator = False
        self.creates_spans = False
        self.flushes = False
        self.globals: set[str] = set()
        self.providers: list[ast.Call] = []


# Fields that never hold a node with anything in it to judge: the load/store context of a name, the
# operator of an operation or a comparison, and the fields of identifiers, numbers and flags (the ASDL's
# identifier, int and string fields; `names` is also Import's aliases, which visit_Import reads itself,
# and `type_ignores` holds TypeIgnore nodes of two such fields).
_LEAF_FIELDS = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "arg",
        "asname",
        "attr",
        "conversion",
        "id",
        "is_async",
        "kind",
        "kwd_attrs",
        "level",
        "module",
        "name",
        "names",
        "rest",
        "simple",
        "type_comment",
        "type_ignores",
    }
)
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _leaf(node: ast.AST) -> None:
    """Nothing below ``node`` to visit."""


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk``: ``node`` and every node below it, breadth first."""
    pending = [node]
    for node in pending:  # grows while it is read: breadth first, as ast.walk's deque
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                pending.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                pending.append(value)
        yield node


class _Analyser:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.hits: list[Hit] = []
        self.names: dict[str, str] = {}
        self.functions: list[_Function] = []
        self.instrumentors: set[str] = set()
        self.wrapped: set[str] = set()
        self.delegates: dict[str, set[str]] = {}  # function -> generators it drains with `yield from g(...)`
        self.patched_tracers: list[ast.Call] = []
        self.patch_all_calls: list[ast.Call] = []
        self.span_generators: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self._dispatch: dict[type[Any], Callable[[Any], None]] = {}  # also None's class: a leaf
        self.not_a_sampler: set[int] = set()  # ALWAYS_ON as ParentBased's root, or compared against
        self._dispatch[ast.Constant] = _leaf  # not NodeVisitor's visit_Constant, a shim for visit_Num & co.
        if "ALWAYS_ON" not in source.text and "AlwaysOnSampler" not in source.text:
            # XE007's names cannot be there (an alias still spells the original in its import): a name
            # is then a leaf with nothing to judge, an attribute only a way down to its value.
            self._dispatch[ast.Name] = _leaf
            self._dispatch[ast.Attribute] = self.generic_visit

    def release(self) -> None:
        """Drop the bound methods the dispatch table holds: the analyser is then no reference cycle."""
        self._dispatch.clear()

    # -- traversal: NodeVisitor's, with the method lookup done once per node class ---------------
    def visit(self, node: ast.AST) -> None:
        method = self._dispatch.get(type(node)) or self._method(type(node))
        method(node)

    def _method(self, kind: type[Any]) -> Callable[[Any], None]:
        """The method for a class met for the first time.

        Anything but a node (None in an optional field, in ``Dict.keys`` or ``arguments.kw_defaults``) is a
        leaf.
        """
        if not issubclass(kind, ast.AST):
            method: Callable[[Any], None] = _leaf
        else:
            method = getattr(self, f"visit_{kind.__name__}", None) or self.generic_visit
        self._dispatch[kind] = method
        return method

    def generic_visit(self, node: ast.AST) -> None:
        # visit() inlined: this loop runs once per node of every file the pre-filter lets through. No
        # isinstance(): a value's class picks its method (a leaf's is _leaf, not even called).
        dispatch = self._dispatch
        fields = _CHILD_FIELDS.get(node.__class__)
        if fields is None:
            fields = _CHILD_FIELDS[node.__class__] = tuple(f for f in node._fields if f not in _LEAF_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    method = dispatch.get(item.__class__) or self._method(item.__class__)
                    if method is not _leaf:
                        method(item)
            else:
                method = dispatch.get(value.__class__) or self._method(value.__class__)
                if method is not _leaf:
                    method(value)

    # -- helpers ---------------------------------------------------------------------------------
    def hit(self, code: str, node: ast.AST, detail: str = "") -> None:
        self.hits.append((code, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, detail))

    def qualify(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return self.names.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return f"{base}.{node.attr}" if base else node.attr
        if isinstance(node, ast.Call):
            return self.qualify(node.func) + "()"
        return ""

    def in_function(self) -> bool:
        return bool(self.functions)

    # -- imports ---------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.names[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.names[top] = top
            if _LEGACY_LOGGERS & set(alias.name.split(".")):
                self.hit("XE012", node, f"import {alias.name}")
            vendor = vendor_module(alias.name)
            if vendor:
                self.hit("XE060", node, f"import {alias.name}: {vendor}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        vendor_found = False
        for alias in node.names:
            self.names[alias.asname or alias.name] = f"{module}.{alias.name}" if module else alias.name
            if _LEGACY_LOGGERS & {*module.split("."), alias.name}:
                self.hit("XE012", node, f"from {module or '.'} import {alias.name}")
            if alias.name == "generate_correlation_id":
                self.hit("XE011", node, f"import of {alias.name}")
            vendor = vendor_module(f"{module}.{alias.name}" if module else alias.name)
            if vendor and node.level == 0 and not vendor_found:
                vendor_found = True
                self.hit("XE060", node, f"from {module or alias.name} import ...: {vendor}")

    # -- functions -------------------------------------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name == "generate_correlation_id" or (
            node.name == "get_correlation_id" and self._creates_an_id(node)
        ):
            self.hit("XE011", node, f"def {node.name}")
        for decorator in node.decorator_list:
            self.visit(decorator)
        state = _Function(node)
        self.functions.append(state)
        for statement in node.body:
            self.visit(statement)
        self.functions.pop()
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            attr = target.attr if isinstance(target, ast.Attribute) else ""
            if attr in _POWERTOOLS_DECORATORS and state.generator:
                if isinstance(node, ast.AsyncFunctionDef):
                    self.hit("XE003", decorator, f"@{attr} on async generator {node.name}()")
                elif self.source.streaming:
                    self.hit("XE003", decorator, f"@{attr} on generator {node.name}()")
            if self.qualify(target).endswith("traced_handler"):
                self.wrapped.add(node.name)
        if state.generator and state.creates_spans and not state.flushes and self.source.streaming:
            self.span_generators.append(node)
        for call in state.providers:
            if not self._cached_singleton(call, state):
                self.hit("XE005", call, f"in {node.name}()")

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.functions.append(_Function(node))
        self.generic_visit(node)
        self.functions.pop()

    def visit_Yield(self, node: ast.Yield) -> None:
        if self.functions:
            self.functions[-1].generator = True
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        if self.functions:
            self.functions[-1].generator = True
            owner = self.functions[-1].node
            if (
                isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and hasattr(owner, "name")
            ):
                self.delegates.setdefault(owner.name, set()).add(node.value.func.id)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        if self.functions:
            self.functions[-1].globals.update(node.names)

    def _try(self, node: ast.Try | ast.TryStar) -> None:
        if self.functions and not self.functions[-1].flushes:
            for inner in (n for statement in node.finalbody for n in _walk(statement)):
                if isinstance(inner, ast.Call):
                    name = self.qualify(inner.func)
                    if name.endswith("force_flush") or name == "xray_exclusive.streaming.flush":
                        self.functions[-1].flushes = True
                        break
        self.generic_visit(node)

    visit_Try = _try
    visit_TryStar = _try

    def _creates_span(self, node: ast.Call, name: str) -> bool:
        if isinstance(node.func, ast.Attribute) and node.func.attr in _SPAN_METHODS:
            return True
        return name.startswith("xray_exclusive.streaming.") and name.rsplit(".", 1)[1] in _SPAN_HELPERS

    # -- calls -----------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualify(node.func)
        last = name.rsplit(".", 1)[-1]
        if self.functions and self._creates_span(node, name):
            self.functions[-1].creates_spans = True
        self._instrumentation(node, name)
        if name.startswith("aws_xray_sdk") and last == "AsyncContext":
            self.hit("XE002", node)
        if self._is_extract(node, name) and not self.in_function():
            self.hit("XE004", node, f"{name}(...) at module level")
        if name.startswith("opentelemetry") and last == "TracerProvider":
            self._tracer_provider(node)
        if name in _TRACER:
            auto_patch = _keyword(node, "auto_patch")
            if auto_patch is None or (isinstance(auto_patch, ast.Constant) and auto_patch.value is True):
                self.patched_tracers.append(node)
                if self.source.streaming:
                    self.hit("XE008", node)
        if name.startswith("aws_xray_sdk") and last in _PATCHERS:
            self.patch_all_calls.append(node)
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in _RAW_RECORDER_CALLS
            and self.qualify(node.func.value).endswith("xray_recorder")
            and not self.source.streaming
        ):
            self.hit("XE010", node, f"xray_recorder.{node.func.attr}")
        if last in _CREATES_ID:
            self.hit("XE011", node, f"call of {last}()")
        elif any(k.arg == "correlation_id_path" and not self._trace_header(k.value) for k in node.keywords):
            self.hit("XE011", node, f"{last}(correlation_id_path=...)")
        if last in _OTLP_EXPORTERS:
            self._exporter(node, name)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "put_annotation":
            self._annotation(node)
        if last == "traced_stream" and node.args and isinstance(node.args[0], ast.Call):
            inner = node.args[0].func
            if isinstance(inner, ast.Name):
                self.wrapped.add(inner.id)
        if last == "ParentBased":
            root = node.args[0] if node.args else _keyword(node, "root")
            if root is not None:
                self.not_a_sampler.add(id(root))
        self._sampler_env(node.args, node)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        self.not_a_sampler.update(id(n) for n in (node.left, *node.comparators))
        self.generic_visit(node)

    def _instrumentation(self, node: ast.Call, name: str) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "instrument"):
            assigned = getattr(node, "_xe_assign", None)
            if isinstance(func, ast.Name | ast.Attribute) and assigned and self._is_aws_instrumentor(name):
                self.instrumentors.add(assigned)
            return
        receiver = func.value
        if isinstance(receiver, ast.Call):
            target = self.qualify(receiver.func)
        elif isinstance(receiver, ast.Name) and receiver.id in self.instrumentors:
            target = "opentelemetry.instrumentation.botocore.BotocoreInstrumentor"
        else:
            return
        if self._is_aws_instrumentor(target) and self.source.streaming:
            self.hit("XE001", node, f"{target.rsplit('.', 1)[-1]}().instrument()")

    @staticmethod
    def _is_aws_instrumentor(name: str) -> bool:
        parts = name.split(".")
        if not parts[-1].endswith("Instrumentor"):
            return False
        if name.startswith("opentelemetry.instrumentation."):
            return parts[2] in _AWS_INSTRUMENTORS
        return parts[-1] in {"BotocoreInstrumentor", "Boto3SQSInstrumentor", "AwsLambdaInstrumentor"}

    def _is_extract(self, node: ast.Call, name: str) -> bool:
        if name in ("opentelemetry.propagate.extract", "xray_exclusive.streaming.invocation_context"):
            return True
        if isinstance(node.func, ast.Attribute) and node.func.attr == "extract":
            receiver = self.qualify(node.func.value)
            return "propagat" in receiver.lower() or receiver.startswith("opentelemetry")
        return False

    def _tracer_provider(self, node: ast.Call) -> None:
        shutdown = _keyword(node, "shutdown_on_exit")
        has_star = any(k.arg is None for k in node.keywords)
        if not has_star and not (isinstance(shutdown, ast.Constant) and shutdown.value is False):
            self.hit("XE006", node)
        if self.functions:
            self.functions[-1].providers.append(node)  # judged when the function's globals are all known

    def _cached_singleton(self, node: ast.Call, function: _Function) -> bool:
        """A lazily built singleton: assigned to a ``global`` of the function, or the function is cached."""
        for decorator in getattr(function.node, "decorator_list", []):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.qualify(target) in _SINGLETON_CACHES:
                return True
        assigned = getattr(node, "_xe_assign", None)
        return assigned is not None and assigned in function.globals

    def _annotation(self, node: ast.Call) -> None:
        key = node.args[0] if node.args else _keyword(node, "key")
        value = node.args[1] if len(node.args) > 1 else _keyword(node, "value")
        if isinstance(value, ast.Constant) and value.value is None:
            self.hit("XE013", node, "put_annotation(..., None)")
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            problem = _valid_key(key.value)
            if problem:
                self.hit("XE014", node, problem)
        elif isinstance(key, ast.JoinedStr):
            literal = "".join(
                v.value for v in key.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            bad = sorted({c for c in literal if not (c.isascii() and (c.isalnum() or c == "_"))})
            if bad:
                self.hit("XE014", node, f"f-string key has {''.join(bad)!r}; X-Ray indexes only [A-Za-z0-9_]")

    def _sampler_env(self, values: list[ast.expr], node: ast.AST) -> None:
        constants = [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        if "OTEL_TRACES_SAMPLER" in constants and "always_on" in {c.lower() for c in constants}:
            self.hit("XE007", node, "OTEL_TRACES_SAMPLER=always_on")
        variable = next((c for c in constants if c in ENDPOINT_VARIABLES), None)
        if variable is not None:
            for endpoint in constants:
                if endpoint != variable and not is_xray_destination(endpoint):
                    self.hit("XE060", node, f"{variable}={endpoint}")

    def _exporter(self, node: ast.Call, name: str) -> None:
        """An OTLP exporter built with a literal endpoint other than the local collector extension."""
        endpoint = _keyword(node, "endpoint")
        if (
            isinstance(endpoint, ast.Constant)
            and isinstance(endpoint.value, str)
            and not is_xray_destination(endpoint.value)
        ):
            self.hit("XE060", node, f"{name.rsplit('.', 1)[-1]}(endpoint={endpoint.value!r})")

    def _trace_header(self, value: ast.expr) -> bool:
        """A correlation ID path that reads the X-Ray trace header: the trace ID itself, not a second ID."""
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            # the header itself, last (a JMESPath `a || b` falls back to another ID)
            return re.search(_TRACE_HEADER_PATH, value.value) is not None
        owner, _, constant = self.qualify(value).rpartition(".")
        return owner.endswith("correlation_paths") and constant in _TRACE_HEADER_PATHS

    def _creates_an_id(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Whether a function body calls a random-ID factory (uuid4, secrets.token_hex...)."""
        return any(
            isinstance(inner, ast.Call) and self.qualify(inner.func).startswith(_ID_FACTORIES)
            for inner in _walk(node)
        )

    # -- names and assignments -------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Call):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    node.value._xe_assign = target.id  # type: ignore[attr-defined]
        for target in node.targets:
            if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                self._sampler_env([target.slice, node.value], node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._always_on(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self._always_on(node):
            self.generic_visit(node)

    def _always_on(self, node: ast.Name | ast.Attribute) -> bool:
        if not isinstance(node.ctx, ast.Load) or id(node) in self.not_a_sampler:
            return False
        name = self.qualify(node)
        if name.startswith("opentelemetry") and name.rsplit(".", 1)[-1] in ("ALWAYS_ON", "AlwaysOnSampler"):
            self.hit("XE007", node, name.rsplit(".", 1)[-1])
            return True
        return False

    # -- end of module ---------------------------------------------------------------------------
    def finish(self) -> list[Hit]:
        if self.patched_tracers:
            for call in self.patch_all_calls:
                self.hit("XE009", call, f"Tracer() at line {self.patched_tracers[0].lineno} also patches")
        # A generator drained by `yield from` inside a wrapped one is flushed by the wrapper's `finally`.
        pending = list(self.wrapped)
        while pending:
            for inner in self.delegates.get(pending.pop(), ()):
                if inner not in self.wrapped:
                    self.wrapped.add(inner)
                    pending.append(inner)
        for function in self.span_generators:
            if function.name not in self.wrapped:
                self.hit("XE015", function, f"{function.name}()")
        return self.hits


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    for keyword in node.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def analyse(source: SourceFile) -> list[Hit]:
    r"""Every Python rule over one file; raises ``SyntaxError`` when the file does not parse.

    Example:
        >>> src = "from aws_xray_sdk.core.async_context import AsyncContext as A\nctx = A()\n"
        >>> analyse(SourceFile("app.py", src))
        [('XE002', 2, 7, '')]
    """
    try:
        # ast.parse itself, without importing `ast`: the same call with the same flags (no inherited
        # __future__ flags, as from ast.py)
        tree: ast.Module = compile(  # type: ignore[assignment]  # mode "exec" gives a Module
            source.text, source.path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True
        )
    except RecursionError:
        raise SyntaxError("too deeply nested for Python to compile", (source.path, 1, 1, "")) from None
    if not source.streaming:
        source.streaming = is_streaming(tree)
    analyser = _Analyser(source)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _VISIT_RECURSION_LIMIT))  # long `a + b + ...` chains are deep trees
    try:
        analyser.visit(tree)
    finally:
        sys.setrecursionlimit(limit)
        analyser.release()
    return analyser.finish()
