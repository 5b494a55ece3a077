"""Log lines that cannot be forged: control characters escaped, no client address.

A request path is decoded before it is logged, so `%0A` becomes a line feed (a forged
log line) and `%1B` an escape character (a terminal sequence run by whoever reads the
journal). Every message the collector and gunicorn write goes through
`EscapingFormatter`, which writes such characters as `\\n`, `\\x1b`, `\\u202e`. A
traceback keeps its own line breaks: only the message is escaped.

gunicorn also writes `Invalid request from ip=<address>`; the README promises logs
without addresses, so `GunicornLogger` drops the address from that line. It lives in
gunicorn_logger.py and is imported from here only when asked for
(`collector.safe_logging.GunicornLogger`, the name deploy/gunicorn.conf.py gives): the
collector's commands and the mailer, which configure logging through this module, never
import gunicorn.
"""

from __future__ import annotations

import logging
from typing import Any

from .display import escaped

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class EscapingFormatter(logging.Formatter):
    """A formatter whose message holds no control character, so one record is one line."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escaped(record.message)
        return super().formatMessage(record)


def __getattr__(name: str) -> Any:
    """`GunicornLogger`, imported with gunicorn on first use (see the module docstring)."""
    if name == "GunicornLogger":
        from .gunicorn_logger import GunicornLogger

        return GunicornLogger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def configure(logger: logging.Logger) -> None:
    """Give `logger` an escaping stderr handler, unless the host application set one up."""
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(EscapingFormatter(LINE_FORMAT))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
