"""Possible duplicates: dossiers that share a SIRET, an RNA number, a contact e-mail or a structure name.

Each kind compares a key made from the answers (an empty key compares with nothing):

- SIRET: its 14 digits (spaces and dots typed between them do not count);
- RNA: `W` and its 9 digits, in capitals, spaces removed;
- e-mail: addresses.address_key (look-alike characters and case folded);
- structure name, the weakest sign (two structures may bear one name, and one structure be
  spelt several ways): without accents, case and punctuation, spaces collapsed, and without a
  leading « Association » or « Asso », which porteurs write or leave out. Nothing cleverer (no
  guessing at typos or abbreviations): a reviewer reads the two dossiers anyway.

The flags and the words that show them are written here once: the review list, the detail page,
the exports and the commands all use them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from .addresses import address_key

KINDS = ("siret", "rna", "email", "nom")  # the order flags are shown in
FLAGS = {kind: f"doublon_{kind}" for kind in KINDS}
FLAG_LABELS = {"doublon_siret": "SIRET en double", "doublon_rna": "RNA en double",
               "doublon_email": "e-mail en double", "doublon_nom": "même nom de structure"}
# After another dossier's reference: « AMI-2021-0002 (même SIRET) ».
SAME = {"siret": "même SIRET", "rna": "même numéro RNA", "email": "même adresse e-mail",
        "nom": "même nom de structure"}
# The answer each kind reads.
FIELDS = {"siret": "siret", "rna": "rna", "email": "contact_email", "nom": "raison_sociale"}

_ASSOCIATION_PREFIX = re.compile(r"^(?:association|asso)\s+")
_PUNCTUATION = re.compile(r"[\W_]+")
RNA_PATTERN = re.compile(r"W[0-9]{9}")  # an RNA number, spaces removed and in capitals (the form checks it too)


def siret_key(value: Any) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    return digits if len(digits) == 14 else ""


def rna_key(value: Any) -> str:
    text = "".join(str(value or "").split()).upper()
    return text if RNA_PATTERN.fullmatch(text) else ""


def email_key(value: Any) -> str:
    return address_key(value)


def name_key(value: Any) -> str:
    """« Association Les Amis du Numérique » and « les amis du numerique » give one key."""
    text = str(value or "")
    if not text.isascii():  # most names are: no decomposition to pay for them (reindex reads every record)
        text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    words = " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())
    if words in ("association", "asso"):  # a prefix alone names no structure: not compared
        return ""
    return _ASSOCIATION_PREFIX.sub("", words)


KEYS = {"siret": siret_key, "rna": rna_key, "email": email_key, "nom": name_key}


def keys_of(answers: Mapping[str, Any]) -> dict[str, str]:
    """{kind: key} of a record's answers, every kind (empty: not compared)."""
    return {kind: KEYS[kind](answers.get(FIELDS[kind])) for kind in KINDS}


def find_duplicates(records: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """For each reference sharing a key with others: [(other reference, kind)], sorted."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record in records:
        for kind, key in keys_of(record.get("answers") or {}).items():
            if key:
                groups[(kind, key)].append(record["reference"])
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (kind, _key), references in groups.items():
        if len(references) > 1:
            for reference in references:
                found[reference] += [(other, kind) for other in references if other != reference]
    return {reference: sorted(pairs) for reference, pairs in found.items()}


def duplicate_flags(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """The flags of a reference's duplicate pairs, in the order of KINDS."""
    kinds = {kind for _other, kind in pairs}
    return [FLAGS[kind] for kind in KINDS if kind in kinds]
