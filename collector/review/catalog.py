"""All submissions as reviewers see them: record + status + duplicates + problems.

Shared by the commands, the exports and the review pages. `load_catalog` reads the index
(review/index.py, kept in step with the files on each use); its entries carry a summary of
each record, and `Entry.answers` reads the record's file the first time it is needed (the
detail page, `show`, the exports). `scan_catalog` reads every file itself (`check`, and the
index when it re-reads a file). A record file that no longer parses is never dropped
silently: it is listed in `Catalog.unreadable` with its file name. A record that parses but
no longer validates against the form stays in the list, flagged `a_verifier`, with its
problems in `Entry.problems` and `Catalog.invalid`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..answers import answer_date, answer_dates
from ..departements import NAMES as DEPARTEMENTS
from ..display import shown
from ..dossier import latest_record, with_versions
from ..readable import departement_code, departement_name  # noqa: F401 - part of the catalog's API
from ..records import RecordError, read_record
from ..statuses import INITIAL, UNREADABLE_HISTORY, duplicate_flags, find_duplicates, read_all_statuses, store_of

INVALID_FLAG = "a_verifier"

Validator = Callable[[dict[str, Any]], list[str]]


# The answers an index summary keeps (what lists, filters, search and duplicates need).
SUMMARY_ANSWERS = ("raison_sociale", "type_structure", "thematiques", "siret", "contact_email")


@dataclass
class Entry:
    record: dict[str, Any]
    path: str
    status: str = INITIAL
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summary_only: bool = False  # `record` is the index's summary; the file holds the rest
    answered: str | None = None  # when the answer letter was sent (answers.py), "" before; None: not read yet
    # The store that keeps the record (a Store, or a data folder's path); None: the data folder of `path`
    where: Any = None

    @property
    def reference(self) -> str:
        return self.record["reference"]

    @property
    def answers(self) -> dict[str, Any]:
        """Every answer: read from the record's file the first time when the entry is a summary."""
        if self.summary_only:
            self.load_record()
        return self.record["answers"]

    def load_record(self) -> None:
        """Replace the summary by the whole record file (a file spoilt since: kept, with a problem)."""
        try:
            self.record = latest_record(self.store, self.reference)
        except RecordError as error:
            self.problems = [*self.problems, str(error)]
        self.summary_only = False

    @property
    def summary(self) -> dict[str, Any]:
        """What the index keeps of the record."""
        answers = self.record["answers"]
        return {"reference": self.record["reference"], "received_at": self.record["received_at"],
                "flags": list(self.record.get("flags") or []), "derived": self.record.get("derived") or {},
                "version": self.version,
                "answers": {name: answers[name] for name in SUMMARY_ANSWERS if name in answers}}

    @property
    def answered_at(self) -> str:
        """When the dossier's answer letter was sent (ISO), "" before; read once from its history."""
        if self.answered is None:
            self.answered = answer_date(self.store, self.reference)
        return self.answered

    @property
    def store(self) -> Any:
        """Where the record, its versions and its history are kept."""
        return self.where if self.where is not None else _data_dir_of(self.path)

    @property
    def version(self) -> int:
        """The number of the newest version (1 when never corrected); as many versions exist."""
        return int(self.record.get("version") or 1)

    @property
    def received_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str(self.record["received_at"]))
        except ValueError:
            return None

    @property
    def organisation(self) -> str:
        """The organisation's name as shown (hidden characters made visible)."""
        return shown(str(self.record["answers"].get("raison_sociale") or ""), multiline=False)

    @property
    def thematiques(self) -> list[str]:
        value = self.record["answers"].get("thematiques") or []
        return [shown(str(item), multiline=False) for item in value] if isinstance(value, list) else [str(value)]

    @property
    def type_structure(self) -> str:
        return str(self.record["answers"].get("type_structure") or "")

    @property
    def departement(self) -> str:
        """The département code (e.g. "14"), or "" when the collector could not tell."""
        return shown(departement_code(self.record), multiline=False)

    @property
    def own_flags(self) -> list[str]:
        """The flags the record itself carries, as shown (neither duplicates nor problems)."""
        return [shown(str(flag), multiline=False) for flag in (self.record.get("flags") or [])]

    @property
    def flags(self) -> list[str]:
        flags = self.own_flags + duplicate_flags(self.duplicates)
        if self.problems:
            flags.append(INVALID_FLAG)
        return flags

    @property
    def week(self) -> str:
        moment = self.received_at
        if moment is None:
            return "inconnue"
        year, week, _day = moment.isocalendar()
        return f"{year}-S{week:02d}"


@dataclass
class Catalog:
    entries: list[Entry]
    unreadable: list[str]

    @property
    def invalid(self) -> list[str]:
        return [f"{entry.reference}.yaml : {'; '.join(entry.problems)}" for entry in self.entries if entry.problems]

    @property
    def warnings(self) -> list[str]:
        """Every file a reviewer must look at by hand, named, in French."""
        return self.unreadable + [f"{line} (ne valide plus le formulaire)" for line in self.invalid]

    def get(self, reference: str) -> Entry | None:
        for entry in self.entries:
            if entry.reference == reference:
                return entry
        return None


def _shape_problem(record: dict[str, Any]) -> str:
    """What makes a parsed record unusable for reviewers ("" when nothing)."""
    if not isinstance(record.get("reference"), str):
        return "la référence n'est pas un texte."
    try:
        moment = datetime.fromisoformat(str(record["received_at"]))
    except ValueError:
        return "la date de réception (received_at) est illisible."
    if moment.tzinfo is None:
        return "la date de réception (received_at) n'indique pas son fuseau horaire."
    if not isinstance(record.get("flags"), list) or not all(isinstance(flag, str) for flag in record["flags"]):
        return "les signalements (flags) ne sont pas une liste de textes."
    if not isinstance(record.get("derived"), dict):
        return "les données déduites (derived) ne sont pas un tableau de clés."
    return ""


def read_entry(path: str, validator: Validator | None = None) -> Entry:
    """One record file as an entry (status and duplicates unset); RecordError naming the file."""
    return entry_of(read_record(path), path.rsplit("/", 1)[-1][:-5], _data_dir_of(path), validator, path)


def entry_of(record: dict[str, Any], expected: str, where: Any, validator: Validator | None = None,
             path: str = "") -> Entry:
    """A reference's first record (read from `where`, a store or a data folder) as an entry
    of its newest version (status and duplicates unset); RecordError naming the record."""
    shape = _shape_problem(record)
    if shape:
        raise RecordError(f"{expected}.yaml : {shape}")
    if record["reference"] != expected:
        raise RecordError(f"{expected}.yaml : la référence inscrite ({record['reference']}) ne correspond pas au nom du fichier.")
    try:  # the newest version of the answers (dossier.py); the first record is never altered
        record = with_versions(where, record)
    except RecordError as error:
        raise RecordError(f"{expected} : une version corrigée est illisible ({error}).") from None
    entry = Entry(record, path or f"{expected}.yaml", where=where)
    if validator is not None:
        entry.problems = validator(record)
    return entry


def _data_dir_of(record_path: str) -> str:
    """The data folder of a record file (`<data>/submissions/<REF>.yaml`)."""
    return os.path.dirname(os.path.dirname(record_path))


def scan_catalog(where: Any, validator: Validator | None = None) -> Catalog:
    """Read every record of a store (or a data folder's path), its status and its duplicates;
    never raises on a bad record."""
    store = store_of(where)
    entries: list[Entry] = []
    unreadable: list[str] = []
    for reference in store.references():
        try:
            entries.append(entry_of(store.review_source.read_record(reference), reference, store, validator,
                                    store.record_file(reference) or ""))
        except RecordError as error:
            unreadable.append(str(error))
    statuses = read_all_statuses(store)
    answered = answer_dates(store)
    duplicates = find_duplicates(entry.record for entry in entries)
    for entry in entries:
        entry.status = statuses.get(entry.reference, INITIAL)
        entry.answered = answered.get(entry.reference, "")
        entry.duplicates = duplicates.get(entry.reference, [])
        if entry.status == UNREADABLE_HISTORY:
            unreadable.append(f"reviews/{entry.reference}.yaml : historique des décisions illisible.")
    return Catalog(entries, unreadable)


def load_catalog(data_dir: str, validator: Validator | None = None) -> Catalog:
    """Every submission, from the index (brought in step with the files first)."""
    from .index import RecordIndex, Selection

    index = RecordIndex(data_dir, validator)
    return Catalog(index.select(Selection()), index.unreadable())


def count_by(entries: Iterable[Entry]) -> dict[str, Counter]:
    """Counts by thématique, département, type of organisation, ISO week and status."""
    counts = {"thematique": Counter(), "departement": Counter(), "type_structure": Counter(),
              "semaine": Counter(), "statut": Counter()}
    for entry in entries:
        counts["thematique"].update(entry.thematiques)
        counts["departement"][entry.departement or "inconnu"] += 1
        counts["type_structure"][entry.type_structure or "inconnu"] += 1
        counts["semaine"][entry.week] += 1
        counts["statut"][entry.status] += 1
    return counts


def format_received(entry: Entry) -> str:
    """Time of receipt as a French reader writes it: 16/04/2021 10:05."""
    moment = entry.received_at
    return moment.strftime("%d/%m/%Y %H:%M") if moment else str(entry.record.get("received_at"))


def format_departement(entry: Entry) -> str:
    """« Calvados (14) » (the record's name for it, else the usual one), or « — » when unknown."""
    code = entry.departement
    return f"{departement_name(entry.record) or DEPARTEMENTS.get(code, code)} ({code})" if code else "—"


def format_moment(text: str) -> str:
    """`2021-04-16T09:12:00+02:00` → `16/04/2021 09:12` ("" stays "")."""
    return f"{text[8:10]}/{text[5:7]}/{text[:4]} {text[11:16]}" if len(text) >= 16 else text


def is_older_than(entry: Entry, limit: date) -> bool:
    moment = entry.received_at
    return moment is not None and moment.date() < limit
