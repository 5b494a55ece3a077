"""The call's facts (content/data/ami.yaml): loaded, checked and enriched once.

Both the Pelican build and the collector call `load_facts()`. A missing or impossible
date, an unknown key or broken YAML raises `FactsError` with a message that names the
file and the field, never a traceback.
"""

from __future__ import annotations

import os
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from .fact_dates import FrenchDate, FrenchNaiveDateTime, MOMENTS, apply_moments, step_problems
from .yamlio import YamlFileError, read_yaml_file

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FACTS_PATH = os.path.join(REPO_ROOT, "content", "data", "ami.yaml")

REQUIRED = {"required": "champ obligatoire manquant."}


class FactsError(ValueError):
    """The facts file is unusable; the message names the file and each bad field."""


def _text(validate_also: Any = None) -> fields.String:
    checks = [validate.Length(min=1, error="ne doit pas être vide.")] + ([validate_also] if validate_also else [])
    return fields.String(required=True, validate=checks, error_messages=REQUIRED)


def _date(**kwargs: Any) -> fields.Date:
    messages = {**REQUIRED, "invalid": "date impossible ou mal écrite (attendu AAAA-MM-JJ)."}
    return FrenchDate(format="iso", error_messages=messages, **kwargs)


def _datetime() -> fields.NaiveDateTime:
    messages = {**REQUIRED, "invalid": "date et heure impossibles ou mal écrites (attendu AAAA-MM-JJTHH:MM:SS)."}
    return FrenchNaiveDateTime(format="iso", required=True, error_messages=messages)


def _phone() -> fields.String:
    def check(value: str) -> None:
        import phonenumbers  # here, not at the top: a reviewer's command that needs no facts never pays for it

        try:
            number = phonenumbers.parse(value, "FR")
        except phonenumbers.NumberParseException as error:
            raise ValidationError("numéro de téléphone illisible.") from error
        if not phonenumbers.is_valid_number(number):
            raise ValidationError("numéro de téléphone français invalide.")

    return _text(validate_also=check)


def _email() -> fields.Email:
    return fields.Email(required=True, error_messages={**REQUIRED, "invalid": "adresse e-mail invalide."})


class CallSchema(Schema):
    title = _text()
    short_title = _text()
    edition = fields.Integer(required=True, strict=True, error_messages=REQUIRED)
    organisation = _text()
    direction = _text()
    organisation_url = fields.Url(required=True, error_messages=REQUIRED)
    reference_prefix = _text(validate_also=validate.Regexp(r"^[A-Z0-9-]+$", error="lettres capitales, chiffres et tirets seulement."))


class SiteSchema(Schema):
    name = _text()
    url = fields.Url(required=True, error_messages=REQUIRED)
    language = _text()


class StepSchema(Schema):
    """A step of the calendar; `moment: opens_at | closes_at` takes its date and wording from there."""

    id = _text(validate_also=validate.Regexp(r"^[a-z0-9-]+$", error="minuscules, chiffres et tirets seulement."))
    label = _text()
    moment = fields.String(load_default=None, validate=validate.OneOf(
        MOMENTS, error="valeur attendue : opens_at (l'ouverture) ou closes_at (la date limite)."))
    start = _date(load_default=None)
    end = _date(load_default=None)
    display = fields.String(load_default=None)

    @validates_schema
    def end_after_start(self, data: dict, **kwargs: Any) -> None:
        if data.get("end") and data.get("start") and data["end"] < data["start"]:
            raise ValidationError("la fin précède le début.", "end")


class CalendarSchema(Schema):
    timezone = _text()
    opens_at = _datetime()
    closes_at = _datetime()
    steps = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=1), error_messages=REQUIRED)

    @validates_schema
    def coherent(self, data: dict, **kwargs: Any) -> None:
        try:
            ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValidationError("fuseau horaire inconnu (exemple : Europe/Paris).", "timezone") from error
        if data["closes_at"] <= data["opens_at"]:
            raise ValidationError("la clôture doit suivre l'ouverture.", "closes_at")

    @validates_schema
    def steps_agree(self, data: dict, **kwargs: Any) -> None:
        ids = [step["id"] for step in data.get("steps", [])]
        twice = sorted({step_id for step_id in ids if ids.count(step_id) > 1})
        if twice:
            raise ValidationError(f"identifiant d'étape en double : {', '.join(twice)}.", "steps")
        moments = {name: data[name] for name in MOMENTS if name in data}
        problems = step_problems(data.get("steps", []), moments, data.get("timezone", ""))
        if problems:
            raise ValidationError(problems, "steps")

    @post_load
    def localise(self, data: dict, **kwargs: Any) -> dict:
        zone = ZoneInfo(data["timezone"])
        data["opens_at"] = data["opens_at"].replace(tzinfo=zone)
        data["closes_at"] = data["closes_at"].replace(tzinfo=zone)
        apply_moments(data["steps"], {name: data[name] for name in MOMENTS}, data["timezone"])
        return data


class PersonSchema(Schema):
    name = _text()
    phone = _phone()
    email = _email()

    @post_load
    def add_links(self, data: dict, **kwargs: Any) -> dict:
        import phonenumbers

        data["phone_href"] = "tel:" + phonenumbers.format_number(
            phonenumbers.parse(data["phone"], "FR"), phonenumbers.PhoneNumberFormat.E164
        )
        data["email_href"] = "mailto:" + data["email"]
        return data


class ContactsSchema(Schema):
    direction = _text()
    notification_email = _email()
    people = fields.List(fields.Nested(PersonSchema), required=True, validate=validate.Length(min=1), error_messages=REQUIRED)


class AddressedSchema(Schema):
    name = _text()
    address = _text()
    phone = fields.String(load_default=None)
    email = fields.Email(load_default=None, error_messages={"invalid": "adresse e-mail invalide."})


class HostSchema(AddressedSchema):
    """The site's host: the law (LCEN, article 6-III-1) asks for its telephone number too."""

    phone = _text()


class AccessibilitySchema(Schema):
    """The RGAA status: without the date of a valid audit, the law allows only « non conforme »."""

    status = _text(validate_also=validate.OneOf(
        ["non conforme", "partiellement conforme", "totalement conforme"],
        error="valeur attendue : non conforme, partiellement conforme ou totalement conforme.",
    ))
    standard = _text()
    audited_on = _date(load_default=None)
    assessed_on = _date(required=True)

    @validates_schema
    def audit_backs_the_status(self, data: dict, **kwargs: Any) -> None:
        if data["status"] != "non conforme" and not data.get("audited_on"):
            raise ValidationError(f"« {data['status']} » suppose un audit RGAA : indiquez sa date (audited_on), "
                                  "ou écrivez « non conforme » tant qu'aucun audit n'a été mené.", "status")


class LegalSchema(Schema):
    publisher = fields.Nested(AddressedSchema, required=True, error_messages=REQUIRED)
    publication_director = _text()
    host = fields.Nested(HostSchema, required=True, error_messages=REQUIRED)
    dpo = fields.Nested(AddressedSchema, required=True, error_messages=REQUIRED)
    retention_months = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=120), error_messages=REQUIRED)
    accessibility = fields.Nested(AccessibilitySchema, required=True, error_messages=REQUIRED)
    cnil_url = fields.Url(required=True, error_messages=REQUIRED)
    browser_draft_days = fields.Integer(load_default=7, strict=True, validate=validate.Range(min=1, max=30))


class FactsSchema(Schema):
    call = fields.Nested(CallSchema, required=True, error_messages=REQUIRED)
    site = fields.Nested(SiteSchema, required=True, error_messages=REQUIRED)
    calendar = fields.Nested(CalendarSchema, required=True, error_messages=REQUIRED)
    contacts = fields.Nested(ContactsSchema, required=True, error_messages=REQUIRED)
    legal = fields.Nested(LegalSchema, required=True, error_messages=REQUIRED)
    to_confirm = fields.List(fields.String(), load_default=list)

    @validates_schema
    def to_confirm_names_real_facts(self, data: dict, **kwargs: Any) -> None:
        for position, path in enumerate(data.get("to_confirm", [])):
            node: Any = data
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    raise ValidationError({position: [f"« {path} » ne désigne aucun fait de ce fichier."]}, "to_confirm")
                node = node[part]


def _item_name(raw: Any, key: Any) -> str | None:
    """`[date-limite]` for item 1 of a list whose items have an id (or a name); else None."""
    if isinstance(key, int) and isinstance(raw, list) and 0 <= key < len(raw) and isinstance(raw[key], dict):
        label = raw[key].get("id") or raw[key].get("name")
        if isinstance(label, str) and label:
            return f"[{label}]"
    return None


def flatten_errors(messages: Any, prefix: str = "", raw: Any = None) -> list[str]:
    """Turn marshmallow's nested error dict into `field.sub.0: message` lines.

    With `raw` (the data that was loaded), list items are named by their id or name
    (`calendar.steps[date-limite].start`) rather than by their position."""
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            named = _item_name(raw, key)
            child = raw[key] if named else (raw.get(key) if isinstance(raw, dict) else None)
            name = named or ("(fichier)" if key == "_schema" else str(key))
            path = (prefix + name if named else f"{prefix}.{name}") if prefix else name
            lines += flatten_errors(value, path, child)
        return lines
    if isinstance(messages, list):
        if all(isinstance(item, str) for item in messages):
            return [f"{prefix} : {' '.join(messages)}"]
        return [line for item in messages for line in flatten_errors(item, prefix, raw)]
    return [f"{prefix} : {messages}"]


# marshmallow's built-in messages, in the French the rest of the file speaks.
FRENCH_MESSAGES = {
    "Unknown field.": "clé inconnue (faute de frappe ?).",
    "Not a valid string.": "texte attendu (mettez la valeur entre guillemets).",
    "Not a valid integer.": "nombre entier attendu.",
    "Not a valid URL.": "adresse web invalide.",
    "Not a valid list.": "liste attendue.",
    "Invalid input type.": "type de valeur inattendu.",
    "Field may not be null.": "valeur vide interdite.",
    "Not a valid email address.": "adresse e-mail invalide.",
}


def _translate(lines: list[str]) -> list[str]:
    for english, french in FRENCH_MESSAGES.items():
        lines = [line.replace(english, french) for line in lines]
    return lines


def load_facts(path: str = DEFAULT_FACTS_PATH) -> dict[str, Any]:
    """Read and check the facts file; return plain dicts with dates as aware datetimes."""
    try:
        raw = read_yaml_file(path, plain_dates=True)
    except YamlFileError as error:
        raise FactsError(str(error)) from error
    if not isinstance(raw, dict):
        raise FactsError(f"{path} : le fichier doit contenir des clés (call, calendar, contacts…).")
    try:
        return FactsSchema().load(raw)
    except ValidationError as error:
        lines = _translate(flatten_errors(error.messages, raw=raw))
        raise FactsError(f"{path} : " + "; ".join(lines)) from error


def unconfirmed_facts(facts: dict[str, Any]) -> list[str]:
    """The facts still waiting for the Région's confirmation."""
    return list(facts.get("to_confirm", []))
