r"""The function's log, written as AWS's Python runtime writes it.

The root logger keeps Python's default level (WARNING) unless ``AWS_LAMBDA_LOG_LEVEL`` names one (``TRACE`` is
``DEBUG``); times are UTC; ``AWS_LAMBDA_LOG_FORMAT=JSON`` writes one JSON object per record. With
``_LAMBDA_TELEMETRY_LOG_FD`` set, records go to that descriptor as framed messages, one frame per record,
exactly as ``awslambdaric`` writes them. On standard output, the inner line breaks of a record (a traceback)
are written as ``\r`` so that CloudWatch keeps the record as one event, as the framed descriptor does.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from enum import IntEnum
from typing import Any, BinaryIO

__all__ = ["LogSink", "configure_logging", "log_error", "set_request"]

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
_RESERVED = frozenset(  # the record attributes awslambdaric's JSON leaves out
    {
        *("name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info"),
        *("exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread"),
        *("threadName", "processName", "process", "aws_request_id", "tenant_id", "_frame_type"),
    }
)
_NBSP = "\u00a0"


_JSON_FRAMES = {
    logging.NOTSET: 0xA55A0002,
    logging.DEBUG: 0xA55A000A,
    logging.INFO: 0xA55A000E,
    logging.WARNING: 0xA55A0012,
    logging.ERROR: 0xA55A0016,
    logging.CRITICAL: 0xA55A001A,
}
_TEXT_FRAMES = {level: value + 1 for level, value in _JSON_FRAMES.items()}


class _Format(IntEnum):
    JSON = 0
    TEXT = 1


def _log_format() -> _Format:
    value = os.environ.get("AWS_LAMBDA_LOG_FORMAT")
    return _Format.JSON if value and value.upper() == "JSON" else _Format.TEXT


def _level_of(record: logging.LogRecord) -> int:
    return min(50, max(0, record.levelno)) // 10 * 10


class _State:
    request_id = ""
    tenant_id: str | None = None


def set_request(request_id: str, tenant_id: str | None) -> None:
    """The invocation the next log records belong to."""
    _State.request_id = request_id
    _State.tenant_id = tenant_id


class LogSink:
    """Standard output, or the framed telemetry descriptor when Lambda gives one."""

    def __init__(self, fd: int | None = None) -> None:
        self._file: BinaryIO | None = os.fdopen(fd, "wb", 0) if fd is not None else None
        self.framed = self._file is not None

    def log(self, message: str, frame_type: int | None = None) -> None:
        """Write one record."""
        if self._file is None:
            sys.stdout.write(message)
            return
        encoded = message.encode("utf-8")
        header = (frame_type or _TEXT_FRAMES[logging.NOTSET]).to_bytes(4, "big")
        timestamp = time.time_ns() // 1000
        self._file.write(header + len(encoded).to_bytes(4, "big") + timestamp.to_bytes(8, "big") + encoded)

    def log_error(self, lines: list[str], frame_type: int) -> None:
        r"""Write an error report: its lines joined with ``\r`` on stdout, ``\n`` in one frame."""
        if self._file is None:
            self.log("\r".join(lines) + "\n")
        else:
            self.log("\n".join(lines), frame_type)


class _Handler(logging.Handler):
    def __init__(self, sink: LogSink, framed_levels: bool) -> None:
        super().__init__()
        self.log_sink = sink
        self._framed_levels = framed_levels

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        if not self.log_sink.framed:
            # One record, one CloudWatch event: inner line breaks become \r (the trailing one stays).
            body, newline, _ = message.rpartition("\n") if message.endswith("\n") else (message, "", "")
            self.log_sink.log(body.replace("\r\n", "\r").replace("\n", "\r") + newline)
            return
        frame = getattr(record, "_frame_type", None)
        if frame is None and self._framed_levels:
            frame = _TEXT_FRAMES.get(_level_of(record))
        self.log_sink.log(message, frame)


class _Filter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _State.request_id
        record.tenant_id = _State.tenant_id
        return True


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, with the fields ``awslambdaric`` writes."""

    def __init__(self) -> None:
        super().__init__(datefmt=_DATETIME_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = _level_of(record)
        record.levelname = logging.getLevelName(record.levelno)
        record._frame_type = _JSON_FRAMES.get(record.levelno, _JSON_FRAMES[logging.NOTSET])
        exc_info = record.exc_info
        message = record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
        result: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": message,
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info and exc_info[0] else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
        }
        tenant = getattr(record, "tenant_id", None)
        if tenant is not None:
            result["tenantId"] = tenant
        result.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _RESERVED and key not in result
        )
        clean = {key: value for key, value in result.items() if value is not None}
        return json.dumps(clean, ensure_ascii=False, default=str) + "\n"


_state: dict[str, Any] = {}


class _Unbuffered:
    """A stream written through at once (print() included), as awslambdaric wraps stdout and stderr."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._stream.flush()
        return int(written)

    def writelines(self, lines: Any) -> None:
        self._stream.writelines(lines)
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def configure_logging() -> LogSink:
    """Set up the root logger as ``awslambdaric`` does: UTC, its format, ``AWS_LAMBDA_LOG_*`` honoured.

    Standard output and standard error are written through at once (nothing is lost if Lambda stops the
    process).
    """
    if not isinstance(sys.stdout, _Unbuffered):
        sys.stdout = _Unbuffered(sys.stdout)
        sys.stderr = _Unbuffered(sys.stderr)
    fd = os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    sink = LogSink(int(fd) if fd is not None else None)
    log_format = _log_format()
    raw_level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    level = {None: "", "TRACE": "DEBUG"}.get(raw_level, raw_level or "").upper()
    logging.Formatter.converter = time.gmtime  # as awslambdaric: every formatter of the process writes UTC
    handler = _Handler(sink, framed_levels=log_format == _Format.JSON or bool(level))
    if log_format == _Format.JSON:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    handler.addFilter(_Filter())
    root.addHandler(handler)
    _state.update(sink=sink, format=log_format)
    return sink


def log_error(document: dict[str, Any]) -> None:
    """Write an error report (an invocation or INIT error) as ``awslambdaric`` does."""
    sink: LogSink = _state.get("sink") or LogSink()
    if _state.get("format") == _Format.JSON:
        stamp = time.strftime(_DATETIME_FORMAT, time.gmtime())
        from ._marshal import to_json

        sink.log_error(
            [to_json({"timestamp": stamp, "level": "ERROR", **document})], _JSON_FRAMES[logging.ERROR]
        )
        return
    description = "[ERROR]"
    if document.get("errorType"):
        description += " " + document["errorType"]
    if document.get("errorMessage"):
        description += (":" if document.get("errorType") else "") + " " + document["errorMessage"]
    lines = [description]
    stack = document.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
                continue
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append(_NBSP * (len(line) - len(stripped)) + stripped)
    sink.log_error(lines, _TEXT_FRAMES[logging.ERROR])
