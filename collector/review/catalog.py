"""All submissions as reviewers see them: record + status + duplicates + problems.

Shared by the commands, the exports and the review pages. A record file that no longer
parses is never dropped silently: it is listed in `Catalog.unreadable` with its file name.
A record that parses but no longer validates against the form stays in the list, flagged
`a_verifier`, with its problems in `Entry.problems` and `Catalog.invalid`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..display import shown
from ..records import RecordError, iter_record_paths, read_record
from ..statuses import INITIAL, UNREADABLE_HISTORY, duplicate_flags, find_duplicates, read_all_statuses

INVALID_FLAG = "a_verifier"

Validator = Callable[[dict[str, Any]], list[str]]


@dataclass
class Entry:
    record: dict[str, Any]
    path: str
    status: str = INITIAL
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.record["reference"]

    @property
    def answers(self) -> dict[str, Any]:
        return self.record["answers"]

    @property
    def received_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str(self.record["received_at"]))
        except ValueError:
            return None

    @property
    def organisation(self) -> str:
        """The organisation's name as shown (hidden characters made visible)."""
        return shown(str(self.answers.get("raison_sociale") or ""), multiline=False)

    @property
    def thematiques(self) -> list[str]:
        value = self.answers.get("thematiques") or []
        return [shown(str(item), multiline=False) for item in value] if isinstance(value, list) else [str(value)]

    @property
    def type_structure(self) -> str:
        return str(self.answers.get("type_structure") or "")

    @property
    def departement(self) -> str:
        """The département code (e.g. "14"), or "" when the collector could not tell."""
        return shown(departement_code(self.record), multiline=False)

    @property
    def flags(self) -> list[str]:
        flags = [shown(str(flag), multiline=False) for flag in (self.record.get("flags") or [])]
        flags += duplicate_flags(self.duplicates)
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


def departement_code(record: dict[str, Any]) -> str:
    value = (record.get("derived") or {}).get("departement")
    if isinstance(value, dict):
        value = value.get("code")
    return str(value or "")


def departement_name(record: dict[str, Any]) -> str:
    value = (record.get("derived") or {}).get("departement")
    if isinstance(value, dict):
        return str(value.get("name") or value.get("nom") or value.get("code") or "")
    return str(value or "")


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


def load_catalog(data_dir: str, validator: Validator | None = None) -> Catalog:
    """Read every record, its status and its duplicates; never raises on a bad record."""
    entries: list[Entry] = []
    unreadable: list[str] = []
    for path in iter_record_paths(data_dir):
        try:
            record = read_record(path)
        except RecordError as error:
            unreadable.append(str(error))
            continue
        expected = path.rsplit("/", 1)[-1][:-5]
        shape = _shape_problem(record)
        if shape:
            unreadable.append(f"{expected}.yaml : {shape}")
            continue
        if record["reference"] != expected:
            unreadable.append(f"{expected}.yaml : la référence inscrite ({record['reference']}) ne correspond pas au nom du fichier.")
            continue
        entry = Entry(record, path)
        if validator is not None:
            entry.problems = validator(record)
        entries.append(entry)
    statuses = read_all_statuses(data_dir)
    duplicates = find_duplicates(entry.record for entry in entries)
    for entry in entries:
        entry.status = statuses.get(entry.reference, INITIAL)
        entry.duplicates = duplicates.get(entry.reference, [])
        if entry.status == UNREADABLE_HISTORY:
            unreadable.append(f"reviews/{entry.reference}.yaml : historique des décisions illisible.")
    return Catalog(entries, unreadable)


def filter_entries(entries: Iterable[Entry], *, status: str | None = None, thematique: str | None = None,
                   departement: str | None = None, type_structure: str | None = None,
                   flag: str | None = None) -> list[Entry]:
    """The entries matching every given filter (an empty filter matches all)."""
    chosen = []
    for entry in entries:
        if status and entry.status != status:
            continue
        if thematique and thematique not in entry.thematiques:
            continue
        if departement and entry.departement != departement:
            continue
        if type_structure and entry.type_structure != type_structure:
            continue
        if flag and flag not in entry.flags:
            continue
        chosen.append(entry)
    return chosen


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


def is_older_than(entry: Entry, limit: date) -> bool:
    moment = entry.received_at
    return moment is not None and moment.date() < limit
