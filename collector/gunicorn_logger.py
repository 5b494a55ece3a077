"""gunicorn's logger with the collector's safe lines (see safe_logging.py).

Its own module so that only gunicorn imports gunicorn: `collector.safe_logging.GunicornLogger`
(deploy/gunicorn.conf.py) reaches it through safe_logging's module `__getattr__`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from .safe_logging import EscapingFormatter

_ADDRESS = re.compile(r"\bfrom ip=.*?: ")


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
