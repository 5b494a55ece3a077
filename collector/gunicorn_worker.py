"""gunicorn's sync worker, whose own error pages are in French.

gunicorn answers some requests itself, before the collector sees them: a request line or a
header it cannot parse (a NUL byte in a header value), a line too long, an unsupported
Transfer-Encoding. Its pages are English (gunicorn.util.write_error), and gunicorn has no
setting for them; it does let a deployment name its own worker class (`worker_class`, "a
Python path to a subclass of gunicorn.workers.base.Worker"). This one leaves gunicorn's
decision as it is (the status, its log line, its access-log line) and replaces only the page:
what gunicorn's `handle_error` writes is held back, its status read, and a French page sent.

Behind nginx these requests are refused by nginx first, with its own French pages
(deploy/nginx); straight to gunicorn (`make run`, a host without nginx) this worker answers.
deploy/gunicorn.conf.py names it.
"""

from __future__ import annotations

import html
import re
from typing import Any

from gunicorn.util import write_nonblock
from gunicorn.workers.sync import SyncWorker

from .security_headers import HEADERS

PAGES = {
    400: ("Requête incorrecte",
          "Votre navigateur a envoyé une requête que le serveur ne peut pas lire (un en-tête mal formé, par "
          "exemple). Rechargez la page ; si l’erreur revient, effacez les cookies de ce site ou essayez un autre "
          "navigateur."),
    403: ("Accès refusé", "Cette requête n’est pas autorisée. Repartez de l’accueil du site."),
    414: ("Adresse trop longue",
          "L’adresse demandée est trop longue pour être lue (une recherche très longue, par exemple). "
          "Raccourcissez-la, ou repartez de l’accueil."),
    417: ("Requête incorrecte",
          "Votre logiciel a envoyé un en-tête « Expect » que le serveur ne prend pas en charge : "
          "envoyez la requête sans lui."),
    431: ("En-têtes trop longs",
          "Votre navigateur a envoyé des en-têtes trop nombreux ou trop longs (des cookies, souvent). "
          "Effacez les cookies de ce site, puis rechargez la page."),
    500: ("Erreur du serveur",
          "Une erreur imprévue s’est produite de notre côté. Réessayez dans quelques instants ; si elle "
          "persiste, écrivez aux contacts de l’AMI."),
    501: ("Envoi non pris en charge",
          "Votre logiciel a envoyé le corps de la requête sous une forme que le serveur ne prend pas en charge "
          "(Transfer-Encoding). Envoyez-le avec un en-tête Content-Length, ou en « chunked » seul."),
}
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ([^\r\n]*)\r\n")


def french_page(status: int, reason: str) -> bytes:
    """The whole HTTP response gunicorn sends in place of its English page for `status`."""
    title, message = PAGES.get(status, PAGES[400])
    body = (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"</head><body><main><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            '<p><a href="/">Revenir à l’accueil</a></p></main></body></html>').encode("utf-8")
    headers = {"Connection": "close", "Content-Type": "text/html; charset=utf-8", "Content-Language": "fr",
               "Cache-Control": "no-store", "Content-Length": str(len(body)), **HEADERS}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


class _HeldSocket:
    """The client's socket as gunicorn's handle_error sees it: what it writes is kept, not sent."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.written = bytearray()

    def sendall(self, data: bytes) -> None:
        self.written += data

    def send(self, data: bytes) -> int:
        self.written += data
        return len(data)

    def __getattr__(self, name: str) -> Any:  # timeouts, addresses: the real socket's
        return getattr(self._sock, name)


class FrenchErrorsWorker(SyncWorker):
    """gunicorn's sync worker; its own error pages (4xx, 5xx) in French."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        held = _HeldSocket(client)
        super().handle_error(req, held, addr, exc)
        found = _STATUS_LINE.match(bytes(held.written))
        if found is None:  # gunicorn wrote nothing (or could not): nothing to translate
            return
        try:
            write_nonblock(client, french_page(int(found.group(1)), found.group(2).decode("latin-1")))
        except Exception:  # noqa: BLE001 - the client is gone: gunicorn's own write would have failed too
            self.log.debug("Failed to send error message.")
