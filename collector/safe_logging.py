"""Log lines that cannot be forged: control characters escaped, no client address.

A request path is decoded before it is logged, so `%0A` becomes a line feed (a forged
log line) and `%1B` an escape character (a terminal sequence run by whoever reads the
journal). Every message the collector and gunicorn write goes through
`EscapingFormatter`, which writes such characters as `\\n`, `\\x1b`, `\\u202e`. A
traceback keeps its own line breaks: only the message is escaped.

gunicorn also writes `Invalid request from ip=<address>`; the README promises logs
without addresses, so `GunicornLogger` drops the address from that line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from .display import escaped

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
_ADDRESS = re.compile(r"\bfrom ip=.*?: ")


class EscapingFormatter(logging.Formatter):
    """A formatter whose message holds no control character, so one record is one line."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escaped(record.message)
        return super().formatMessage(record)


class GunicornLogger(Logger):
    """gunicorn's logger with escaped lines and no client address in its warnings.

    Use it with `logger_class = "collector.safe_logging.GunicornLogger"` (deploy/gunicorn.conf.py).
    """

    def _set_handler(self, log: logging.Logger, output: Any, fmt: logging.Formatter,
                     stream: Any = None) -> None:
        if isinstance(fmt, logging.Formatter) and not isinstance(fmt, EscapingFormatter):
            fmt = EscapingFormatter(fmt._fmt, fmt.datefmt)
        super()._set_handler(log, output, fmt, stream)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        super().warning(_ADDRESS.sub("", msg) if isinstance(msg, str) else msg, *args, **kwargs)


def configure(logger: logging.Logger) -> None:
    """Give `logger` an escaping stderr handler, unless the host application set one up."""
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(EscapingFormatter(LINE_FORMAT))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
