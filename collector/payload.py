"""Reading a submission's body: url-encoded or multipart (the form) or a JSON object (scripts).

Anything that is not one of those, or not valid UTF-8, or names a field the form does
not have, raises `BadBody` with a French message and a 4xx status: the caller never
sees half-decoded text.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qsl

from flask import Request

from .antispam import HIDDEN_FIELDS
from .errors import MESSAGES
from .formdef import FormDefinition

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPE = "application/json"


class BadBody(Exception):
    """A body the collector cannot read; `message` is French, `status` a 4xx code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _pairs_from_urlencoded(request: Request, max_fields: int) -> list[tuple[str, str]]:
    raw = request.get_data(cache=True)
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict",
                         max_num_fields=max_fields)
    except UnicodeDecodeError as error:
        raise BadBody("Le formulaire envoyé contient du texte mal encodé (UTF-8 attendu) : "
                      "envoyez-le à nouveau depuis la page du formulaire.") from error
    except ValueError as error:
        raise BadBody("Le formulaire envoyé contient trop de champs.") from error


def _pairs_from_multipart(request: Request) -> list[tuple[str, str]]:
    if request.files:
        raise BadBody("Ce formulaire n'accepte pas de fichier joint : retirez-le et envoyez à nouveau.")
    pairs = list(request.form.items(multi=True))
    if any(not name for name, _value in pairs):  # werkzeug keys a part without `name=` as None
        raise BadBody("Une partie du formulaire envoyé n'a pas de nom de champ (name=) : envoyez le formulaire "
                      "depuis sa page, ou nommez chaque partie d'après le champ qu'elle remplit.")
    if any("\ufffd" in name or "\ufffd" in value for name, value in pairs):
        raise BadBody("Le formulaire envoyé contient du texte mal encodé (UTF-8 attendu) : "
                      "envoyez-le à nouveau depuis la page du formulaire.")
    return pairs


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadBody(f"Le champ « {key} » apparaît deux fois dans l'objet JSON envoyé.")
        result[key] = value
    return result


def _object_from_json(request: Request) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_repeated_keys)
    except UnicodeDecodeError as error:
        raise BadBody("Le corps de la requête n'est pas du texte UTF-8 valide.") from error
    except RecursionError as error:
        raise BadBody("L'objet JSON envoyé est trop profondément imbriqué.") from error
    except json.JSONDecodeError as error:  # its message is English: only its place is kept
        place = f"ligne {error.lineno}, colonne {error.colno}"
        raise BadBody(f"Le corps de la requête n'est pas du JSON valide ({place}) : "
                      "vérifiez la syntaxe à cet endroit.") from error
    except ValueError as error:  # a number too long to convert, say
        raise BadBody("Le corps de la requête n'est pas du JSON lisible : vérifiez-en les valeurs.") from error
    if not isinstance(data, dict):
        raise BadBody("Un objet JSON est attendu, de la forme {\"raison_sociale\": \"…\", …}.")
    for key, value in data.items():
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise BadBody(f"Le champ « {key} » attend une liste de textes.")
        elif value is not None and not isinstance(value, (str, bool)):
            raise BadBody(f"Le champ « {key} » attend un texte, une liste de textes ou un booléen.")
    return data


def _group(pairs: list[tuple[str, str]], form: FormDefinition) -> dict[str, Any]:
    """Repeated names become lists; checkboxes are always lists."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    result: dict[str, Any] = {}
    for name, values in grouped.items():
        multiple = name in form.by_name and form.field(name).multiple
        result[name] = values if multiple or len(values) > 1 else values[0]
    return result


def bound_streamed_body(request: Request) -> None:
    """Give a chunked body (no Content-Length) the same limit as any other body.

    Werkzeug stops reading such a body at MAX_CONTENT_LENGTH without saying so, and the
    answers cut there could be stored. Read at most one byte more than the limit: more
    is a 413; otherwise the body is handed on with its length, as if it had declared it.
    """
    limit = request.max_content_length
    if (request.content_length is not None or limit is None or "stream" in request.__dict__
            or not request.environ.get("wsgi.input_terminated")):
        return
    try:
        raw = request.environ["wsgi.input"].read(limit + 1)
    except Exception as error:  # noqa: BLE001 - the server's own: a chunked body cut short or malformed
        # (gunicorn raises NoMoreData, InvalidChunkSize, ChunkMissingTerminator): not a body
        raise BadBody(MESSAGES[400]) from error
    if len(raw) > limit:
        raise BadBody(MESSAGES[413], 413)
    request.environ["wsgi.input"] = io.BytesIO(raw)
    request.environ["CONTENT_LENGTH"] = str(len(raw))
    request.__dict__.pop("content_length", None)  # a cached None, read before the body was


def read_submission(request: Request, form: FormDefinition, max_fields: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers, hidden fields) from a POST body; BadBody on anything unreadable."""
    bound_streamed_body(request)  # done already for every request by create_app; harmless twice
    mimetype = request.mimetype
    if mimetype == FORM_TYPES[0]:
        data = _group(_pairs_from_urlencoded(request, max_fields), form)
    elif mimetype == FORM_TYPES[1]:
        data = _group(_pairs_from_multipart(request), form)
    elif mimetype == JSON_TYPE:
        data = {key: value for key, value in _object_from_json(request).items() if value is not None}
    else:
        raise BadBody("Type de contenu non pris en charge : envoyez le formulaire (application/x-www-form-urlencoded "
                      "ou multipart/form-data) ou un objet JSON (application/json).", 415)
    unknown = [name for name in data if name not in form.by_name and name not in HIDDEN_FIELDS]
    if unknown:
        shown = ", ".join(f"« {name[:40]} »" for name in unknown[:5])
        raise BadBody(f"Champ inconnu du formulaire : {shown}. Envoyez uniquement les champs du formulaire.")
    hidden = {name: data.pop(name) for name in HIDDEN_FIELDS if name in data}
    return data, hidden
