"""Python rules, on the syntax tree (``ast``): imports are resolved, so aliases do not hide a call."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._model import SourceFile
from ._vendors import is_xray_destination, vendor_module

# (code, line, col, detail)
Hit = tuple[str, int, int, str]

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
_ID_FACTORIES = ("uuid.uuid1", "uuid.uuid4", "secrets.token_hex", "secrets.token_urlsafe", "ulid.")
_OTLP_EXPORTERS = frozenset({"OTLPSpanExporter"})
_ENDPOINT_VARIABLES = frozenset({"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"})
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
    "xray_recorder",  # XE010
    "generate_correlation_id",  # XE011
    "set_correlation_id",  # XE011
    "correlation_id_path",  # XE011
    "latency_logger",  # XE012
    "cache_logger",  # XE012
)
_STREAMING_WORDS = ("instrument", "Instrumentor", "Tracer", "capture_", "yield")  # XE001, XE008, XE003/15
_SAFE_ANNOTATION = re.compile(
    r"""put_annotation\(\s*(?:key\s*=\s*)?(["'])[A-Za-z0-9_]{1,250}\1\s*,\s*(?:value\s*=\s*)?(?!None\b)[^\s)]"""
)
_MODULE_IMPORT = re.compile(
    r"^(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+([^\n#]*)|import[ \t]+([\w.]+))", re.M
)
_STREAMING_IMPORT = re.compile(
    r"^(?:from|import)[ \t]+(?:opentelemetry|xray_exclusive\.streaming|xray_exclusive\.runtime)\b", re.M
)


def needs_parse(text: str, streaming: bool) -> bool:
    r"""Whether any Python rule could fire on ``text``; ``False`` lets the checker skip ``ast.parse``.

    Example:
        >>> needs_parse("import json\nprint(json.dumps({}))\n", streaming=False)
        False
        >>> needs_parse("from aws_xray_sdk.core import xray_recorder\n", streaming=False)
        True
    """
    if any(word in text for word in _ALWAYS) or vendor_module(text, textual=True):
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
        return text.count("put_annotation") != len(_SAFE_ANNOTATION.findall(text))
    return False


def streams_directly(text: str) -> bool:
    r"""A module that imports OpenTelemetry or the library's streaming parts (textual, at column 0).

    Example:
        >>> streams_directly("import os\nfrom opentelemetry import trace\n"), streams_directly("import os\n")
        (True, False)
    """
    return ("opentelemetry" in text or "xray_exclusive." in text) and bool(_STREAMING_IMPORT.search(text))


def module_imports(text: str) -> list[str]:
    r"""The modules a file may import at column 0; relative imports keep their leading dots.

    ``from a import b`` gives ``a`` and ``a.b``: ``b`` may be a module.

    Example:
        >>> module_imports("import os\nfrom .tracing import tracer\nfrom . import tracing\n")
        ['os', '.tracing', '.tracing.tracer', '.', '.tracing']
    """
    found: list[str] = []
    for match in _MODULE_IMPORT.finditer(text):
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


@dataclass
class _Function:
    """What the single pass learns about one function body (nested functions have their own)."""

    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    generator: bool = False
    creates_spans: bool = False
    flushes: bool = False
    globals: set[str] = field(default_factory=set)
    providers: list[ast.Call] = field(default_factory=list)


class _Analyser(ast.NodeVisitor):
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
        self._dispatch: dict[type[ast.AST], Callable[[Any], None]] = {}
        self.not_a_sampler: set[int] = set()  # ALWAYS_ON as ParentBased's root, or compared against

    # -- traversal: NodeVisitor's, with the method lookup done once per node class ---------------
    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = self._dispatch.get(kind)
        if method is None:
            method = getattr(self, f"visit_{kind.__name__}", None) or self.generic_visit
            self._dispatch[kind] = method
        method(node)

    def generic_visit(self, node: ast.AST) -> None:
        visit = self.visit
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item)
            elif isinstance(value, ast.AST):
                visit(value)

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
            for inner in (n for statement in node.finalbody for n in ast.walk(statement)):
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
        elif any(k.arg == "correlation_id_path" for k in node.keywords):
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
        variable = next((c for c in constants if c in _ENDPOINT_VARIABLES), None)
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

    def _creates_an_id(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Whether a function body calls a random-ID factory (uuid4, secrets.token_hex...)."""
        return any(
            isinstance(inner, ast.Call) and self.qualify(inner.func).startswith(_ID_FACTORIES)
            for inner in ast.walk(node)
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
        tree = ast.parse(source.text, filename=source.path)
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
    return analyser.finish()
