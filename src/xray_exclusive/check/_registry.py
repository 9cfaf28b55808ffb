"""The rule registry, gathered from the analysers: each analyser module declares the rules it emits.

``RULES`` (every rule, in code order) imports every analyser; :func:`rule` looks among the analysers
already imported first, so a run over Python files alone never loads the Terraform or YAML analysers.
``CODES`` is the codes alone, written out, for what needs no more (validating a configured code).
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import MappingProxyType

from ._model import Rule

__all__ = ["ANALYSERS", "CODES", "RULES", "rule"]

ANALYSERS = ("_python", "_terraform", "_dockerfile", "_collector")
"""The modules of this package that emit hits, each with its ``RULES``."""

CODES = (
    "XE001",
    "XE002",
    "XE003",
    "XE004",
    "XE005",
    "XE006",
    "XE007",
    "XE008",
    "XE009",
    "XE010",
    "XE011",
    "XE012",
    "XE013",
    "XE014",
    "XE015",
    "XE020",
    "XE021",
    "XE022",
    "XE023",
    "XE024",
    "XE025",
    "XE026",
    "XE027",
    "XE028",
    "XE029",
    "XE030",
    "XE031",
    "XE040",
    "XE041",
    "XE050",
    "XE051",
    "XE052",
    "XE053",
    "XE054",
    "XE060",
    "XE061",
    "XE062",
    "XE063",
)
"""Every rule's code, in code order, without importing an analyser: what a configured code or prefix is
checked against at start-up. Keep it equal to ``tuple(RULES)`` when adding a rule
(``tests/test_check_registry.py`` fails until it is).

Example:
    >>> CODES[0], "XE051" in CODES
    ('XE001', True)
"""

RULES: MappingProxyType[str, Rule]  # built on first use, by __getattr__ below
"""Every rule by code, in code order.

Example:
    >>> from xray_exclusive.check import RULES
    >>> RULES["XE051"].name, RULES["XE051"].kind
    ('decouple-not-last', 'collector')
"""

_all: MappingProxyType[str, Rule] | None = None
_by_module: dict[str, dict[str, Rule]] = {}


def _declared(name: str) -> dict[str, Rule]:
    rules = _by_module.get(name)
    if rules is None:
        module = import_module(f"{__package__}.{name}")
        rules = _by_module[name] = {r.code: r for r in module.RULES}
    return rules


def _everything() -> MappingProxyType[str, Rule]:
    global _all
    if _all is None:
        found: dict[str, Rule] = {}
        for name in ANALYSERS:
            for code, declared in _declared(name).items():
                if code in found:
                    raise RuntimeError(f"{code} is declared twice (the second time in {name})")
                found[code] = declared
        _all = MappingProxyType(dict(sorted(found.items())))
    return _all


def rule(code: str) -> Rule:
    """The rule of ``code``, from the analysers already loaded if one declares it.

    Example:
        >>> rule("XE002").name
        'xray-async-context'
    """
    for name in ANALYSERS:
        if f"{__package__}.{name}" in sys.modules:
            found = _declared(name).get(code)
            if found is not None:
                return found
    return _everything()[code]


def __getattr__(name: str) -> MappingProxyType[str, Rule]:
    if name == "RULES":
        return _everything()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
