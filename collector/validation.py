"""Typed answers: one marshmallow field class per kind of question, with French messages.

Each class takes the question's definition (label, limits, choices, messages) and turns
what a browser or a script sent into the value the record keeps, or raises a
ValidationError whose French message says how to fix the answer. Real libraries do
the checking: python-stdnum (SIRET), email-validator (e-mail syntax, no DNS),
phonenumbers (French numbers).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError, fields

from .addresses import AddressError, plain_address
from .display import INVISIBLE_IN_SHORT_TEXT, category_name, code_point
from .departements import NAMES as DEPARTEMENT_NAMES
from .departements import departement_of, is_normandie
from .duplicates import RNA_PATTERN
from .records import FIX_HIDDEN, HiddenCharacterError, clean_paragraphs
from .template_filters import thousands

if TYPE_CHECKING:
    from .formdef import FieldDef

ONE_VALUE = "Une seule réponse est attendue pour ce champ : n'en envoyez qu'une."
NOT_TEXT = "Ce champ attend du texte."
TRUE_WORDS = frozenset({"oui", "on", "true", "1", "yes"})
FALSE_WORDS = frozenset({"non", "off", "false", "0", "no", ""})
_SPACES = re.compile(r"[\s.\-]+")
# ASCII digits only: `\d` would also take Arabic-Indic or full-width digits.
_POSTCODE = re.compile(r"[0-9]{5}")
FLAG_OUTSIDE = "hors_normandie"


class Answer(fields.Field):
    """Base class: a form question, deserialised with the question's own messages."""

    def __init__(self, definition: FieldDef, **kwargs: Any) -> None:
        self.definition = definition
        messages = {"required": definition.required_message, "null": definition.required_message}
        mandatory = definition.required and not definition.required_when
        if mandatory:
            super().__init__(required=True, error_messages=messages, **kwargs)
        else:
            super().__init__(load_default=self.empty_value(), error_messages=messages, **kwargs)

    @staticmethod
    def empty_value() -> Any:
        return ""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return self.parse(value)

    def parse(self, value: Any) -> Any:
        raise NotImplementedError


class Text(Answer):
    """A line or a paragraph of text: NFC, no control characters nor noncharacters, trimmed,
    length-checked; on one line, no bidirectional override nor zero-width character either
    (they would make a name or an address read differently from what it is)."""

    def parse(self, value: Any) -> str:
        if isinstance(value, list):
            raise ValidationError(ONE_VALUE)
        if not isinstance(value, str):
            raise ValidationError(NOT_TEXT)
        try:  # a pasted line break becomes a line feed (kept in a paragraph, a space on one line)
            text = clean_paragraphs(value).strip()
        except HiddenCharacterError as error:
            raise ValidationError(f"« {self.definition.label} » contient {error.detail} : {FIX_HIDDEN}") from error
        if self.definition.type != "textarea":
            self.refuse_invisible(text)
            text = " ".join(text.split())
        self.check_length(text)
        return self.refine(text)

    def refuse_invisible(self, text: str) -> None:
        if found := INVISIBLE_IN_SHORT_TEXT.search(text):
            raise ValidationError(
                f"« {self.definition.label} » contient {category_name(found.group())} ({code_point(found.group())}), "
                "souvent apporté par un copier-coller : retapez cette réponse au clavier.")

    def check_length(self, text: str) -> None:
        limits = self.definition
        if limits.max_length and len(text) > limits.max_length:
            raise ValidationError(
                f"« {limits.label} » compte {thousands(limits.max_length)} caractères au plus ; "
                f"votre réponse en compte {thousands(len(text))} : raccourcissez-la.")
        if limits.min_length and len(text) < limits.min_length:
            raise ValidationError(
                f"« {limits.label} » compte au moins {limits.min_length} caractères : complétez votre réponse.")

    def refine(self, text: str) -> str:
        return text


class Email(Text):
    """One bare address (see addresses.py): never an encoded word, a display name or a list."""

    def refine(self, text: str) -> str:
        try:
            return plain_address(text)
        except AddressError as error:
            raise ValidationError(str(error)) from error


class Phone(Text):
    def refine(self, text: str) -> str:
        import phonenumbers  # here, not at the top: a reviewer's command never validates a phone number

        message = "Saisissez un numéro de téléphone valide, par exemple 02 31 06 98 98 ou +33 2 31 06 98 98."
        try:
            number = phonenumbers.parse(text, "FR")
        except phonenumbers.NumberParseException as error:
            raise ValidationError(message) from error
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(message)
        style = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 33
                 else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return phonenumbers.format_number(number, style)


class Postcode(Text):
    def refine(self, text: str) -> str:
        code = _SPACES.sub("", text)
        if not _POSTCODE.fullmatch(code) or departement_of(code) is None:
            raise ValidationError("Saisissez un code postal français de 5 chiffres, par exemple 14000.")
        return code


class Siret(Text):
    def refine(self, text: str) -> str:
        from stdnum import exceptions as stdnum_errors
        from stdnum.fr import siret as stdnum_siret

        code = stdnum_siret.compact(text)
        try:
            return stdnum_siret.validate(code)
        except (stdnum_errors.InvalidLength, stdnum_errors.InvalidFormat) as error:
            raise ValidationError(
                "Le numéro SIRET compte 14 chiffres : vérifiez votre saisie.") from error
        except stdnum_errors.ValidationError as error:
            raise ValidationError(
                "Ce numéro SIRET n'existe pas (sa clé de contrôle est fausse) : vérifiez chaque chiffre "
                "sur un document officiel de votre structure.") from error


class Rna(Text):
    def refine(self, text: str) -> str:
        code = _SPACES.sub("", text).upper()
        if not RNA_PATTERN.fullmatch(code):
            raise ValidationError("Le numéro RNA s'écrit W suivi de 9 chiffres, par exemple W141234567.")
        return code


class Choice(Answer):
    """One value among the definition's choices (radio buttons, drop-down list)."""

    def parse(self, value: Any) -> str:
        if isinstance(value, list):
            raise ValidationError(ONE_VALUE)
        if not isinstance(value, str) or value not in self.definition.choice_values:
            raise ValidationError(f"Choisissez l'une des réponses proposées pour « {self.definition.label} ».")
        return value


class MultiChoice(Answer):
    """Zero or more values among the choices (checkboxes), kept in the form's order."""

    @staticmethod
    def empty_value() -> Any:
        return list

    def parse(self, value: Any) -> list[str]:
        values = value if isinstance(value, list) else [value]
        allowed = self.definition.choice_values
        if not all(isinstance(item, str) and item in allowed for item in values):
            raise ValidationError(f"Cochez uniquement des réponses proposées pour « {self.definition.label} ».")
        chosen = set(values)
        result = [item for item in self.definition.choice_values if item in chosen]
        if not result and self.definition.required and not self.definition.required_when:
            raise ValidationError(self.definition.required_message)
        return result


class Checkbox(Answer):
    """One box to tick: true when ticked; a required box must be ticked."""

    @staticmethod
    def empty_value() -> Any:
        return False

    def parse(self, value: Any) -> bool:
        if isinstance(value, list):
            raise ValidationError(ONE_VALUE)
        if isinstance(value, bool):
            ticked = value
        elif isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            ticked = value.strip().lower() in TRUE_WORDS
        else:
            raise ValidationError(f"Cochez ou décochez la case « {self.definition.label} ».")
        if self.definition.required and not ticked:
            raise ValidationError(self.definition.required_message)
        return ticked


FIELD_CLASSES: dict[str, type[Answer]] = {
    "text": Text, "textarea": Text, "email": Email, "tel": Phone, "postcode": Postcode,
    "siret": Siret, "rna": Rna, "select": Choice, "radio": Choice, "checkboxes": MultiChoice,
    "checkbox": Checkbox,
}


def is_empty(value: Any) -> bool:
    """True for an answer left blank (missing, empty text, no box ticked)."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not value
    return False


def derive(answers: dict[str, Any], postcode_field: str | None) -> tuple[list[str], dict[str, Any]]:
    """Flags and derived facts for a record: the département, and `hors_normandie` outside it."""
    if not postcode_field or not answers.get(postcode_field):
        return [], {}
    code = departement_of(answers[postcode_field])
    if code is None:
        return [], {}
    flags = [] if is_normandie(code) else [FLAG_OUTSIDE]
    return flags, {"departement": {"code": code, "name": DEPARTEMENT_NAMES[code]}}
