"""Submissions for tests and proofs: a valid answer set, the form's hidden fields, a POST helper.

`valid_answers(form)` follows the current definition (content/data/form.yaml or the copy
COLLECTOR_FORM_PATH points to): known questions get realistic answers, any other question
gets a valid answer of its type. Nothing here fakes the collector: posts go over real HTTP.
"""

from __future__ import annotations

import http.client
import json as jsonlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

HONEYPOT_FIELD = "site_web"
TOKEN_FIELD = "jeton"
SUBMISSION_ID_FIELD = "id_envoi"

REALISTIC = {
    "raison_sociale": "Communauté de communes du Pays de Falaise",
    "type_structure": "collectivite",
    "siret": "732 829 320 00074",
    "rna": "",
    "adresse": "Forum, boulevard de la Libération",
    "code_postal": "14700",
    "commune": "Falaise",
    "contact_nom": "Camille Lefèvre",
    "contact_fonction": "Chargée de mission numérique",
    "contact_email": "camille.lefevre@example.org",
    "contact_telephone": "02 31 90 17 26",
    "projet_titre": "Tiers-lieu numérique du Pays de Falaise",
    "thematiques": ["tiers_lieu_numerique", "inclusion_numerique", "autre"],
    "thematique_autre": "Accueil des jeunes en service civique",
    "description": ("Ouvrir un tiers-lieu au cœur de Falaise : ateliers d'initiation au numérique, "
                    "espace de coworking pour les télétravailleurs et permanences d'aide aux démarches en ligne.\n"
                    "Ouverture prévue au printemps 2022."),
    "maturite": "conception",
    "partenaires": "La médiathèque intercommunale, deux associations d'éducation populaire et la Maison France Services.",
    "territoire": "Communauté de communes du Pays de Falaise (58 communes)",
    "attentes": ["ingenierie", "soutien_financier"],
    "rencontre": "oui",
    "rgpd": "oui",
}

BY_TYPE = {
    "text": "Réponse de test", "textarea": "Une réponse de test sur\nplusieurs lignes.",
    "email": "contact@example.org", "tel": "02 31 06 98 98", "postcode": "14000",
    "siret": "73282932000074", "rna": "W141234567", "checkbox": "oui",
}


def valid_answers(form: Any) -> dict[str, str | list[str]]:
    """A valid, realistic submission for the form definition `form` (a FormDefinition)."""
    answers: dict[str, str | list[str]] = {}
    for item in form.fields:
        if item.name in REALISTIC:
            value = REALISTIC[item.name]
        elif item.type == "checkboxes":
            value = [item.choices[0][0]]
        elif item.type in {"radio", "select"}:
            value = item.choices[0][0]
        else:
            value = BY_TYPE[item.type]
        if isinstance(value, str) and item.max_length:
            value = value[: item.max_length]
        answers[item.name] = value
    return answers


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "input":
            return
        attributes = {name: value or "" for name, value in attrs}
        name = attributes.get("name")
        if name and (attributes.get("type") == "hidden" or name == HONEYPOT_FIELD):
            self.found[name] = attributes.get("value", "")


def form_hidden_fields(html: str) -> dict[str, str]:
    """The anti-robot token, the one-time submission id and the (empty) honeypot of a form page."""
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.found


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def location(self) -> str | None:
        return self.headers.get("location")


def request(base_url: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> Reply:
    """One HTTP request on loopback, redirects not followed."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(),
                     response.headers.get_all("Set-Cookie") or [])
    finally:
        connection.close()


def fetch_hidden(base_url: str) -> dict[str, str]:
    """GET /candidater/ and return its hidden fields (a fresh token and submission id)."""
    reply = request(base_url, "GET", "/candidater/")
    if reply.status != 200:
        raise RuntimeError(f"GET /candidater/ answered {reply.status}")
    return form_hidden_fields(reply.text)


def answer_pairs(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser sends: lists as repeated fields, a ticked box as "oui"."""
    pairs: list[tuple[str, str]] = []
    for name, value in answers.items():
        if isinstance(value, list):
            pairs += [(name, item) for item in value]
        elif isinstance(value, bool):
            if value:
                pairs.append((name, "oui"))
        else:
            pairs.append((name, value))
    return pairs


def encode_form(answers: dict[str, Any], hidden: dict[str, str]) -> bytes:
    """The url-encoded body a browser would send."""
    return urlencode(list(hidden.items()) + answer_pairs(answers)).encode("ascii")


def post_form(base_url: str, answers: dict[str, Any], hidden: dict[str, str], json: bool = False,
              headers: dict[str, str] | None = None) -> Reply:
    """POST a submission to /candidater/: url-encoded like a browser, or as a JSON object."""
    if json:
        body = jsonlib.dumps({**hidden, **answers}, ensure_ascii=False).encode("utf-8")
        base = {"Content-Type": "application/json", "Accept": "application/json"}
    else:
        body = encode_form(answers, hidden)
        base = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
    return request(base_url, "POST", "/candidater/", body, {**base, **(headers or {})})
