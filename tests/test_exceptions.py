"""One error hierarchy: every configuration error is a ``ConfigurationError`` and keeps its old builtin."""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import pytest

import xray_exclusive
from xray_exclusive import ConfigurationError, XrayExclusiveError, exceptions
from xray_exclusive._backend import resolve_backend


def _configuration_errors() -> dict[str, tuple[type[BaseException], type[BaseException]]]:
    """Each public name an error has been raised under for bad configuration, and the builtin it had."""
    from xray_exclusive import canary, check, render, streaming

    return {
        "streaming.ConfigurationError": (streaming.ConfigurationError, RuntimeError),
        "canary.ConfigurationError": (canary.ConfigurationError, ValueError),
        "check.ConfigError": (check.ConfigError, ValueError),
        "render.FleetError": (render.FleetError, ValueError),
        "exceptions.MissingExtraError": (exceptions.MissingExtraError, RuntimeError),
    }


@pytest.mark.parametrize("name", sorted(_configuration_errors()))
def test_every_configuration_error_is_one_class_and_keeps_its_builtin_base(name: str) -> None:
    cls, builtin = _configuration_errors()[name]
    assert issubclass(cls, ConfigurationError)
    assert issubclass(cls, XrayExclusiveError)
    assert issubclass(cls, ValueError)  # ConfigurationError's own builtin
    assert issubclass(cls, builtin), f"{name} no longer subclasses {builtin.__name__}"


def test_the_collector_error_is_a_sibling_that_stays_a_runtime_error() -> None:
    from xray_exclusive.devtools import Collector, CollectorError

    assert issubclass(CollectorError, XrayExclusiveError) and issubclass(CollectorError, RuntimeError)
    assert not issubclass(CollectorError, ConfigurationError)
    with pytest.raises(RuntimeError, match="loopback only"):
        Collector(host="0.0.0.0")


def test_what_is_raised_is_caught_by_the_old_clause_and_the_new_one() -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    from xray_exclusive.canary import CanaryConfig
    from xray_exclusive.check import CheckConfig
    from xray_exclusive.render import parse_fleet
    from xray_exclusive.streaming._bootstrap import _check_sampler

    raisers: list[tuple[Any, type[BaseException]]] = [
        (lambda: CanaryConfig.from_env({"CANARY_LOSS_THRESHOLD": "2"}), ValueError),
        (lambda: CheckConfig(select=("XE999",)), ValueError),
        (lambda: parse_fleet({}), ValueError),
        (lambda: _check_sampler(ALWAYS_ON), RuntimeError),
        (lambda: resolve_backend("no-such-backend"), ValueError),
    ]
    for raiser, builtin in raisers:
        with pytest.raises(ConfigurationError) as caught:
            raiser()
        assert isinstance(caught.value, builtin)


def test_a_backend_whose_extra_is_missing_raises_a_configuration_runtime_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from xray_exclusive import _backend

    monkeypatch.setitem(_backend._PLUGINS, "doc-missing", "xray_exclusive_no_such_module")
    with pytest.raises(RuntimeError, match=r"needs the \[streaming\] extra") as caught:
        resolve_backend("doc-missing")
    assert isinstance(caught.value, exceptions.MissingExtraError)
    assert isinstance(caught.value, ConfigurationError)


def test_the_docstring_tree_lists_every_class_in_the_module_with_its_bases() -> None:
    doc = exceptions.__doc__ or ""
    tree = doc.split("```text\n")[1].split("```")[0]
    line = re.compile(
        r"^(?P<indent>[ │├└─]*)(?P<name>\w+)(?: \((?P<builtin>\w+)\))?(?: +(?P<module>[\w.]+))?$"
    )
    drawn: dict[
        str, tuple[str | None, str | None, type[BaseException]]
    ] = {}  # name: (parent, builtin, class)
    stack: list[tuple[int, str]] = []  # (column, name) of the open branches
    for text in tree.splitlines():
        match = line.match(text)
        assert match is not None, f"not a line of the tree: {text!r}"
        column = len(match["indent"])
        while stack and stack[-1][0] >= column:
            stack.pop()
        home = importlib.import_module(match["module"]) if match["module"] else exceptions
        drawn[match["name"]] = (
            stack[-1][1] if stack else None,
            match["builtin"],
            getattr(home, match["name"]),
        )
        stack.append((column, match["name"]))
    classes = {
        name: cls
        for name, cls in vars(exceptions).items()
        if inspect.isclass(cls) and cls.__module__ == exceptions.__name__
    }
    assert set(classes) == set(exceptions.__all__)
    assert set(classes) <= set(drawn)
    for name, (parent, builtin, cls) in drawn.items():
        assert issubclass(cls, XrayExclusiveError)
        bases = cls.__bases__
        drawn_parent = drawn[parent][2] if parent is not None else Exception
        assert bases[0] is drawn_parent, f"{name} is drawn under {drawn_parent.__name__}"
        if builtin is None:
            assert bases == (drawn_parent,), f"{name} is drawn without a builtin but has {bases}"
        else:
            assert builtin in {base.__name__ for base in bases}, (
                f"{name} is not drawn with its builtin {bases}"
            )


def test_the_data_errors_are_one_tree_and_keep_their_builtin_bases() -> None:
    from xray_exclusive import DataError, canary, runtime, sse, trace_header
    from xray_exclusive.check._hcl import HclError
    from xray_exclusive.devtools._limits import BodyTooLarge

    for cls in (trace_header.TraceHeaderError, sse.SSEError, HclError, BodyTooLarge):
        assert issubclass(cls, DataError) and issubclass(cls, ValueError)
        assert not issubclass(cls, ConfigurationError)
    assert issubclass(canary.StateError, RuntimeError) and issubclass(runtime.RuntimeAPIError, RuntimeError)
    assert issubclass(runtime.MarshalError, runtime.Fault) and issubclass(runtime.MarshalError, ValueError)
    for other in (canary.PermanentError, canary.StateError, runtime.RuntimeAPIError, runtime.Fault):
        assert issubclass(other, XrayExclusiveError)
    with pytest.raises(DataError, match="not 1-<8 hex>-<24 hex>"):
        trace_header.parse("Root=1-xyz")


def test_the_errors_are_public_at_the_package_root() -> None:
    for name in ("ConfigurationError", "DataError", "XrayExclusiveError"):
        assert name in xray_exclusive.__all__
        assert getattr(xray_exclusive, name) is getattr(exceptions, name)
        assert "Example" in (inspect.getdoc(getattr(exceptions, name)) or "")
