"""How every Reviewdesk process logs: one handler on the root logger, text or JSON lines.

Whatever the format, a line never carries an email address, an API key, a webhook secret or a
one-time link's token (DESIGN, "Security and privacy"): the handler's filter rewrites each
record, its arguments, traceback and extra fields included, before any formatter sees it.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from settings import Settings

_REDACTIONS = [
    # A password in a URL (a database's: postgresql://user:password@host/db).
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1<password>@"),
    # A link's token in a path: /reply/<token>, the page a reviewer answers on.
    (re.compile(r"(/reply/)[^/?#\s\"']+"), r"\1<token>"),
    # API keys (rd_biz_..., rd_mod_...) and webhook signing secrets.
    (re.compile(r"\brd_[A-Za-z0-9_\-]{8,}"), "rd_<key>"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]+"), "whsec_<secret>"),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"), "<email>"),
    # Anything else that looks like a token: a long run of url-safe base64 with a digit in it
    # (a 256-bit token is 43 characters). Ids are shorter; long identifiers have no digit.
    (
        re.compile(r"(?<![\w\-])(?=[\w\-]*\d)[A-Za-z0-9_\-]{32,}(?![\w\-])"),
        "<secret>",
    ),
]

# What every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


class Redacting(logging.Filter):
    """Renders the message (and any traceback) once, redacted, in place of the original."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Formatters use exc_text when it is set; the traceback's own text may quote values.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD:
                setattr(record, name, _redact_value(value))
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")


def handler(log_format: str, stream: TextIO = sys.stderr) -> logging.Handler:
    """Lines in ``log_format`` on ``stream``, redacted."""
    made = logging.StreamHandler(stream)
    made.setFormatter(formatter(log_format))
    made.addFilter(Redacting())
    return made


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """The one place a process sets up logging: the worker, the web app and `up` call it."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(settings.log_format))
    root.setLevel(level)
