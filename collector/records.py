"""Submission records: one human-readable YAML file per submission.

Layout under the data folder (COLLECTOR_DATA_DIR):
    submissions/AMI-2021-0042.yaml   what the porteur sent; never altered after writing
    tmp/                             writes in progress (readers never look here)

A record is a mapping, in this order: reference, received_at (ISO 8601, Europe/Paris),
form_version, content_hash (sha256 of the answers), flags (list of strings), derived
(facts the collector worked out, such as the département), answers (the form's fields
in the form's order, as the porteur sent them once validated and normalised).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .display import NONCHARACTER, code_point
from .durable import write_new_file
from .yaml_emitter import UnsupportedShape, dump_block_yaml
from .yamlio import YamlFileError, dump_yaml, parse_yaml, read_regular_file

SUBMISSIONS_DIR = "submissions"
RECORD_SUFFIX = ".yaml"
RECORD_KEYS = ("reference", "received_at", "form_version", "content_hash", "flags", "derived", "answers")

# C0 and C1 control characters except tab, LF and CR; lone surrogates.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# With the noncharacters (U+FFFE, U+FFFF…): XML 1.0, so an XLSX cell, cannot carry them all.
_NOT_IN_RECORD = re.compile(_FORBIDDEN.pattern[:-1] + NONCHARACTER.pattern[1:])


class RecordError(ValueError):
    """A record that cannot be written or read back; the message is in French."""


# Breaks a word processor puts in copied text, which a browser's text box keeps unseen: a
# manual line break (Maj+Entrée, U+000B), a page break (U+000C), the Unicode line and
# paragraph separators (U+2028, U+2029); with CR and CRLF, line breaks of a multi-line text.
_PASTED_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\u2028\u2029]")
_PARAGRAPH_BREAKS = "\x0c\u2029"
_CONTEXT = 20  # characters quoted before a refused one, to find it in a long text


class HiddenCharacterError(ValueError):
    """A character no record may hold; `detail` names it and where it is, in French
    (« un caractère de contrôle invisible (U+0007) après « …texte » »)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Le texte contient {detail} : {FIX_HIDDEN}")
        self.detail = detail


FIX_HIDDEN = "retirez-le, par exemple en retapant ce passage au clavier."


def _located(value: str, index: int) -> str:
    """Where a character is: « au début », or after the characters that precede it."""
    before = " ".join(value[max(0, index - _CONTEXT * 3):index].split())[-_CONTEXT:]
    if not before:
        return "au début du texte"
    return f"après « {'…' if len(before) < len(value[:index].strip()) else ''}{before} »"


def clean_text(value: str) -> str:
    """NFC-normalise a text; raise HiddenCharacterError (naming the character and where it is)
    if it holds control characters, lone surrogates or noncharacters (which no XML document,
    so no XLSX export, can hold)."""
    if found := _FORBIDDEN.search(value):
        surrogate = "\ud800" <= found.group() <= "\udfff"
        kind = "un caractère invalide" if surrogate else "un caractère de contrôle invisible"
        raise HiddenCharacterError(f"{kind} ({code_point(found.group())}) {_located(value, found.start())}")
    if found := NONCHARACTER.search(value):
        raise HiddenCharacterError(f"un caractère réservé, qui n'est pas du texte ({code_point(found.group())}) "
                                   f"{_located(value, found.start())}")
    return unicodedata.normalize("NFC", value)


def clean_paragraphs(value: str) -> str:
    """clean_text for a multi-line text: the breaks a pasted text may carry (CR, CRLF, U+000B,
    U+000C, U+2028, U+2029) become line feeds first (a page or paragraph break, a blank line)."""
    return clean_text(_PASTED_BREAKS.sub(lambda found: "\n\n" if found.group() in _PARAGRAPH_BREAKS else "\n", value))


def content_hash(answers: dict[str, Any]) -> str:
    """A stable fingerprint of the answers (same answers, same hash)."""
    canonical = json.dumps(answers, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_record(reference: str, received_at: datetime, form_version: int | str,
                 answers: dict[str, Any], flags: list[str] | None = None,
                 derived: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble a record in its canonical key order."""
    return {
        "reference": reference,
        "received_at": received_at.isoformat(timespec="seconds"),
        "form_version": form_version,
        "content_hash": content_hash(answers),
        "flags": list(flags or []),
        "derived": dict(derived or {}),
        "answers": answers,
    }


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        if _NOT_IN_RECORD.search(value) or unicodedata.normalize("NFC", value) != value:
            raise RecordError("Texte non normalisé ou caractère interdit dans l'enregistrement.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def _reads_back(text: str, record: dict[str, Any]) -> bool:
    try:
        return parse_yaml(text, record.get("reference", "record")) == record
    except YamlFileError:
        return False


def serialise_record(record: dict[str, Any]) -> bytes:
    """YAML bytes for a record, refused unless loading them gives the record back exactly.

    The fast writer (yaml_emitter) comes first; PyYAML's own dumper takes over for a
    shape it does not cover or a text it would not give back exactly.
    """
    _check_strings(record)
    try:
        text = dump_block_yaml(record)
    except UnsupportedShape:
        text = ""
    if not text or not _reads_back(text, record):
        text = dump_yaml(record)
        if not _reads_back(text, record):
            raise RecordError("L'enregistrement relu ne correspond pas aux données reçues.")
    return text.encode("utf-8")


def record_path(data_dir: str, reference: str) -> str:
    return os.path.join(data_dir, SUBMISSIONS_DIR, reference + RECORD_SUFFIX)


def write_record(data_dir: str, record: dict[str, Any]) -> str:
    """Publish a new record durably; FileExistsError if its reference is already taken."""
    return write_new_file(os.path.join(data_dir, SUBMISSIONS_DIR), record["reference"] + RECORD_SUFFIX,
                          serialise_record(record))


def read_record(path: str) -> dict[str, Any]:
    """Load one record; RecordError (naming the file) if it is not a well-formed record."""
    try:
        text = read_regular_file(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RecordError(f"{os.path.basename(path)} : illisible ({error}).") from error
    return parse_record(text, os.path.basename(path))


def parse_record(text: str, name: str) -> dict[str, Any]:
    """A record from its YAML document; RecordError (naming `name`) if it is not a well-formed record."""
    try:
        data = parse_yaml(text, name)
    except YamlFileError as error:
        raise RecordError(f"{name} : illisible ({error}).") from error
    if not isinstance(data, dict) or not all(key in data for key in RECORD_KEYS):
        raise RecordError(f"{name} : structure d'enregistrement incomplète.")
    if not isinstance(data["answers"], dict):
        raise RecordError(f"{name} : les réponses ne sont pas un tableau de champs.")
    return data


def iter_record_paths(data_dir: str) -> Iterator[str]:
    """Paths of every published record, sorted by reference (readers skip tmp/)."""
    folder = os.path.join(data_dir, SUBMISSIONS_DIR)
    if not os.path.isdir(folder):
        return iter(())
    names = sorted(name for name in os.listdir(folder) if name.endswith(RECORD_SUFFIX))
    return (os.path.join(folder, name) for name in names)
