"""What the WSGI server hands over, made safe before werkzeug reads it.

Two requests that reach the collector when a client talks to gunicorn directly (`make run`, a
host without nginx; nginx reads a body whole before passing it on):

- a body shorter than its Content-Length (the client closed, or its connection broke):
  gunicorn returns what came and marks every body as ended (`wsgi.input_terminated`), so
  werkzeug took the cut body for the whole one and a form cut inside its last answer could
  be stored. With the mark removed where a length is declared, werkzeug counts the bytes
  itself and a short body raises its ClientDisconnected: a 400, in French (collector/errors.py);
- a Range header that cannot be parsed (`bytes=abc`) or counts in another unit than bytes:
  werkzeug answered 416; RFC 9110 (section 14.2) lets a server ignore the first and tells it
  to ignore the second, and the whole page (200) is what a browser can use; so are several
  ranges at once (`bytes=0-1,5-6`), which werkzeug cannot serve. A range of bytes that lies past
  the end stays a 416.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.http import parse_range_header


def _usable_range(value: str) -> bool:
    parsed = parse_range_header(value)  # several ranges, which werkzeug cannot serve, are ignored too
    return parsed is not None and parsed.units == "bytes" and len(parsed.ranges) == 1


class RequestEdges:
    """WSGI middleware: a declared body length is checked, an unreadable Range is ignored."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("CONTENT_LENGTH"):
            # werkzeug wraps the input in a LimitedStream of that length, which raises
            # ClientDisconnected when the input ends first. A chunked body has no length and
            # keeps the mark: payload.bound_streamed_body reads it up to the body cap.
            environ.pop("wsgi.input_terminated", None)
        if "HTTP_RANGE" in environ and not _usable_range(environ["HTTP_RANGE"]):
            del environ["HTTP_RANGE"]
        return self.app(environ, start_response)
