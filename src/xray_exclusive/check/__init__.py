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

from ._config import CheckConfig, ConfigError, find_pyproject, load_config
from ._model import PARSE_ERROR, Finding, Rule
from ._report import as_json, rule_list, rules_markdown, sarif, text
from ._rules import RULES
from ._run import Report, check, kind_of

__all__ = [
    "PARSE_ERROR",
    "RULES",
    "CheckConfig",
    "ConfigError",
    "Finding",
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
