"""French error pages (or JSON, when the client asks for it) for every refusal.

`Refusal` is what the collector raises when it says no on purpose (phase closed, limit,
cross-site post, unreadable body); Werkzeug's own HTTP errors (404, 405, 413…) and any
unexpected exception get the same treatment, so no client ever sees a traceback.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("collector")

TITLES = {
    400: "Requête incorrecte",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    413: "Envoi trop volumineux",
    415: "Type de contenu non pris en charge",
    416: "Partie de fichier introuvable",
    422: "Réponses à corriger",
    429: "Trop d'envois",
    500: "Erreur du serveur",
    503: "Service momentanément indisponible",
}
MESSAGES = {
    400: "La requête reçue n'a pas pu être lue. Revenez au formulaire et envoyez-le à nouveau.",
    403: "Cette action n'est pas autorisée.",
    404: "L'adresse demandée n'existe pas ou plus. Vérifiez-la, ou revenez à l'accueil du site.",
    405: "Cette adresse ne permet pas cette action. Revenez au formulaire pour l'envoyer.",
    413: "L'envoi dépasse la taille autorisée. Raccourcissez les textes les plus longs, puis envoyez à nouveau.",
    415: "Ce type de contenu n'est pas accepté.",
    416: "La partie demandée de ce fichier n'existe pas (elle commence après sa fin). Rechargez la page "
         "pour l'obtenir en entier.",
    429: "Trop d'envois depuis votre connexion en peu de temps. Patientez quelques minutes, puis réessayez.",
    500: "Une erreur imprévue s'est produite de notre côté. Réessayez dans quelques instants ; "
         "si elle persiste, écrivez aux contacts de l'AMI.",
    503: "Votre envoi n'a pas pu être enregistré pour le moment : il n'a PAS été reçu. "
         "Réessayez dans quelques minutes.",
}
# Said on the error page alone: with JavaScript, form.js shows the message inside the form itself.
BACK_TO_THE_FORM = ("Vos réponses sont conservées sur la page précédente : revenez-y (bouton « Retour » du "
                    "navigateur) pour les envoyer à nouveau.")
HINTS = {503: BACK_TO_THE_FORM}


class Refusal(Exception):
    """A deliberate refusal with a French message."""

    def __init__(self, status: int, message: str | None = None, title: str | None = None,
                 headers: dict[str, str] | None = None, hint: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(status, ""))
        self.status = status
        self.message = message or MESSAGES.get(status, "")
        self.title = title or TITLES.get(status, "Erreur")
        self.headers = headers or {}
        self.hint = hint or (None if message else HINTS.get(status))  # the default message's own hint


def wants_json() -> bool:
    """True when the client prefers JSON to HTML (fetch from form.js, scripts)."""
    accept = request.accept_mimetypes
    html, json = accept["text/html"], accept["application/json"]
    if request.mimetype == "application/json":  # a script sending JSON gets JSON unless it asks for HTML
        return json >= html
    return json > html


# An error page's frame: (status, title, message, hint) -> HTML.
Frame = Callable[[int, str, str, str | None], str]
FRAMES = "ami_error_frames"


def add_frame(app: Flask, prefix: str, frame: Frame) -> None:
    """Render the errors of the pages under `prefix` (e.g. /instruction, the reviewers') in their own
    frame instead of the porteur's public one (« Revenir au formulaire »)."""
    app.extensions.setdefault(FRAMES, []).append((prefix.rstrip("/"), frame))


def _frame_of(path: str) -> Frame | None:
    for prefix, frame in current_app.extensions.get(FRAMES, ()):
        if path == prefix or path.startswith(prefix + "/"):
            return frame
    return None


def _public_frame(status: int, title: str, message: str, hint: str | None) -> str:
    return render_template("collector/error.html", status=status, error_title=title, message=message, hint=hint)


def error_response(status: int, message: str, title: str | None = None,
                   headers: dict[str, str] | None = None, hint: str | None = None) -> Response:
    """A French error page (or JSON) with `status`. `hint`: a second paragraph for the HTML page alone,
    saying what to do from it (a script that shows `message` in place of the form leaves it out)."""
    title = title or TITLES.get(status, "Erreur")
    if wants_json():
        response = jsonify({"error": message, "status": status})
    else:
        frame = _frame_of(request.path) or _public_frame
        response = Response(frame(status, title, message, hint), mimetype="text/html")
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def where(error: BaseException) -> str:
    """Where an exception was raised (file:line in function), without its message: messages may
    quote what a porteur typed, and logs never hold personal data."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{os.path.relpath(last.filename)}:{last.lineno} in {last.name}"


def init_app(app: Flask) -> None:
    @app.errorhandler(Refusal)
    def refused(error: Refusal) -> Response:
        return error_response(error.status, error.message, error.title, error.headers, error.hint)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        headers = {}
        if status == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(status, MESSAGES.get(status, TITLES.get(status, "Erreur")), headers=headers)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.error("unexpected %s on %s %s (%s)", type(error).__name__, request.method, request.path, where(error))
        return error_response(500, MESSAGES[500])
