"""A plain HTTP(S) client that keeps every response header as sent (to count duplicates)."""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int
    header_list: list[tuple[str, str]]
    body: bytes

    def headers(self, name: str) -> list[str]:
        """Every value of header `name` (case-insensitive), in the order sent."""
        return [value for key, value in self.header_list if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.headers(name)
        return values[0] if values else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def fetch(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
          cafile: str | None = None) -> Response:
    """One request, redirects not followed; HTTPS checks the certificate against `cafile`."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.getheaders(), response.read())
    finally:
        connection.close()
