r"""``xray-exclusive check``: find the known X-Ray tracing pitfalls in a Lambda fleet's repository.

Python files are read with ``ast``, Terraform with a built-in reader, Dockerfiles instruction by
instruction, collector YAML with PyYAML (extra ``[check]``). Every rule is in ``RULES``; see the
checker's page of the documentation.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from xray_exclusive.check import check
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "handler.py").write_text("from aws_xray_sdk.core import patch_all\n"
    ...         "from aws_lambda_powertools import Tracer\ntracer = Tracer()\npatch_all()\n")
    ...     report = check([tmp])
    >>> [(f.line, f.code) for f in report.findings], report.exit_code
    ([(4, 'XE009')], 1)
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._config import CheckConfig, ConfigError, find_pyproject, load_config
    from ._model import PARSE_ERROR, Finding, Hit, Rule
    from ._registry import RULES
    from ._report import as_json, rule_list, rules_markdown, sarif, text
    from ._run import Report, check, kind_of

__all__ = [
    "PARSE_ERROR",
    "RULES",
    "CheckConfig",
    "ConfigError",
    "Finding",
    "Hit",
    "Report",
    "Rule",
    "as_json",
    "check",
    "find_pyproject",
    "kind_of",
    "load_config",
    "rule_list",
    "rules_markdown",
    "sarif",
    "text",
]

# Loaded on first use (PEP 562): ``python -m xray_exclusive.check`` and the command module import this
# package, and pay only for what the run needs.
_LAZY = {
    "PARSE_ERROR": "_model",
    "Finding": "_model",
    "Hit": "_model",
    "Rule": "_model",
    "RULES": "_registry",
    "CheckConfig": "_config",
    "ConfigError": "_config",
    "find_pyproject": "_config",
    "load_config": "_config",
    "as_json": "_report",
    "rule_list": "_report",
    "rules_markdown": "_report",
    "sarif": "_report",
    "text": "_report",
    "Report": "_run",
    "check": "_run",
    "kind_of": "_run",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
