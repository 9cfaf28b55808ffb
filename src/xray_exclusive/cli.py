"""The ``xray-exclusive`` command: the table of commands, parsing, and the errors every command shares.

Each command is a module of its subpackage with ``HELP`` (its line in ``xray-exclusive --help``),
``add_arguments(parser)`` (its options, description and examples) and ``run(args) -> int`` (its exit
status, see :mod:`._exit`). Only the module of the command asked for is imported, so ``xray-exclusive
check`` never loads the canary or the demo; ``xray-exclusive --help`` loads them all.

A missing extra, missing AWS configuration or a usage error is one line on stderr that names the fix, and
exit status 3 (see :mod:`._exit`), never a traceback.

Example:
    >>> _parser().parse_args(["canary", "run", "--once", "--json"]).json
    True
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._exit import CANNOT_RUN, EXIT_TABLE, missing_extra

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing itself is not imported at run time: the checker's start-up counts
    import argparse
    from typing import Any, NoReturn

__all__ = ["main"]

_COMMANDS = {
    "canary": "xray_exclusive.canary._cli",
    "collect": "xray_exclusive.devtools._collect_cli",
    "view": "xray_exclusive.devtools._view_cli",
    "demo": "xray_exclusive.devtools._demo_cli",
    "check": "xray_exclusive.check._cli",
    "render": "xray_exclusive.render._cli",
}
"""Every command, in the order ``--help`` lists them, and the module that declares and runs it."""


def _classes() -> tuple[type[argparse.HelpFormatter], type[argparse.ArgumentParser]]:
    """The formatter and the parser class, built on first use: ``argparse`` is imported only then.

    A plain ``xray-exclusive check [--format F] [PATH...]`` never needs it (see :func:`_plain_check`).
    """
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    import argparse

    class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
        """Keeps the examples' line breaks and shows every default.

        The width is ``shutil.get_terminal_size()``'s, found without importing ``shutil`` (and the archive
        modules it brings): ``argparse`` builds a formatter for every ``add_argument``, on every run.
        """

        def __init__(
            self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
        ) -> None:
            super().__init__(
                prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
            )

    class _Parser(argparse.ArgumentParser):
        """An argument parser whose usage errors exit 3, apart from the commands' own outcomes.

        A command's own subcommands (``canary run``) are made with ``parser_class=type(parser)``, so they
        share it.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", _Formatter)
            super().__init__(*args, **kwargs)

        def error(self, message: str) -> NoReturn:
            self.print_usage(sys.stderr)
            self.exit(CANNOT_RUN, f"{self.prog}: error: {message}\n")

    _CLASSES = (_Formatter, _Parser)
    return _CLASSES


_CLASSES: tuple[type[argparse.HelpFormatter], type[argparse.ArgumentParser]] | None = None


def _columns() -> int:
    """``shutil.get_terminal_size().columns``: ``COLUMNS``, else the terminal of stdout, else 80."""
    import os

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Arguments:
    """What ``parse_args`` gives for a plain ``check`` command line (the attributes ``check``'s run reads)."""

    def __init__(self, paths: list[str], output_format: str) -> None:
        from .check._cli import run

        self.command = "check"
        self.paths = paths
        self.output_format = output_format
        self.select: list[str] = []
        self.ignore: list[str] = []
        self.streaming: list[str] = []
        self.config: str | None = None
        self.list_rules = False
        self.rules_markdown = False
        self._run = run


def _plain_check(argv: Sequence[str]) -> _Arguments | None:
    """``check``'s arguments without ``argparse`` when ``argv`` is ``check [--format F]... [PATH...]``.

    Only that form: each option spelt in full with a valid choice, before paths that do not start with
    ``-``; it parses exactly as ``argparse`` would. Anything else (``--help``, another option, an
    abbreviation, a usage error) is ``None``: ``argparse`` parses it, with its usage, help and messages.
    """
    if not argv or argv[0] != "check":
        return None
    output_format = "text"
    at = 1
    while at < len(argv) and argv[at].startswith("-"):
        token = argv[at]
        if token == "--format" and at + 1 < len(argv):
            value, at = argv[at + 1], at + 2
        elif token.startswith("--format="):
            value, at = token[len("--format=") :], at + 1
        else:
            return None
        if value not in ("text", "json", "sarif"):
            return None
        output_format = value
    paths = list(argv[at:])
    if any(path.startswith("-") for path in paths):
        return None
    return _Arguments(paths, output_format)


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, that command's options alone.

    The other commands, or all of them with ``only=""``, are bare names: enough for ``--version`` and for a
    usage error, which lists the names only.
    """
    from importlib import import_module

    from . import __version__

    _, parser_class = _classes()
    parser = parser_class(
        prog="xray-exclusive",
        description="Make AWS X-Ray the only tracing system of a Lambda fleet: run the local demo and "
        "collector, check a repository, render the fleet's alarms, run the canary.",
        epilog="examples:\n  xray-exclusive demo\n  xray-exclusive check src infra\n\n" + EXIT_TABLE,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=parser_class)
    for name, path in _COMMANDS.items():
        if only is not None and name != only:
            commands.add_parser(name)
            continue
        module = import_module(path)
        command = commands.add_parser(name, help=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """Which command modules the parser needs.

    The command ``argv`` names; ``None`` (all of them) for the root's ``--help``; ``""`` (none) for
    ``--version`` or a usage error.
    """
    for token in argv:
        if token in ("-h", "--help"):
            return None
        if not token.startswith("-"):
            return token if token in _COMMANDS else ""
    return ""


def _words(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """``canary run``: the command and subcommands ``argv`` names, for the one-line messages."""
    import argparse

    words = []
    for token in argv:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or token not in actions[0].choices:
            if token.startswith("-"):
                continue
            break
        words.append(token)
        parser = actions[0].choices[token]
    return " ".join(words)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    only = _chosen(argv)
    command = only or ""
    try:
        args: Any = _plain_check(argv)
        if args is None:
            parser = _parser(only)
            command = _words(parser, argv)
            args = parser.parse_args(argv)
        else:
            command = "check"
        status: int = args._run(args)
        return status
    except ImportError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        print(
            f"xray-exclusive {command}: this needs the [{extra}] extra "
            f"(no module {exc.name!r}): pip install 'xray-exclusive[{extra}]'",
            file=sys.stderr,
        )
        return CANNOT_RUN
    except Exception as exc:
        fix = _aws_configuration_fix(exc)
        if fix is None:
            raise
        print(f"xray-exclusive {command}: {fix}", file=sys.stderr)
        return CANNOT_RUN


def _aws_configuration_fix(exc: Exception) -> str | None:
    """One line naming the fix for botocore's configuration errors (no region, no credentials)."""
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None:
        return None
    if isinstance(exc, botocore.NoRegionError):
        return (
            "no AWS region is configured: set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=eu-west-1"
        )
    if isinstance(exc, botocore.NoCredentialsError | botocore.PartialCredentialsError):
        return (
            "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, botocore.ProfileNotFound):
        return f"{exc}: check AWS_PROFILE and ~/.aws/config"
    return None


if __name__ == "__main__":
    sys.exit(main())
