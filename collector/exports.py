"""Spreadsheet exports of the submissions: CSV for any French spreadsheet, XLSX
(exports_xlsx.py) and ODS (exports_ods.py).

Columns: reference, time of receipt, status, flags, duplicates, département, then every
question of the form definition in the form's order, with choice labels (not codes) as
values. The form definition drives the columns: add a question to content/data/form.yaml
and the exports follow. CSV heads each column with the full question; XLSX and ODS with
its short header (`column` in form.yaml) and list the full questions on a second sheet,
« Questions ». In XLSX and ODS, « Reçue le » is a real date-time (Paris time) and long
answers wrap.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, or a tab or
CR) are prefixed with an apostrophe. XLSX and ODS cells are typed: every answer is written
as a text cell, which a spreadsheet never evaluates, so it needs no visible prefix.

Every text goes through `display.shown`: a record edited by hand may hold characters that
XML (so XLSX and ODS) cannot carry or that hide what a cell says; they are shown as
`[U+FFFF]`, and one such record never stops an export.

The « Doublons » cell names the first DUPLICATES_LISTED other dossiers and counts the rest:
a SIRET shared by hundreds of dossiers would otherwise make every one of their cells a list
longer than a spreadsheet cell holds (XLSX: 32,767 characters; exports_xlsx.py marks a cut).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from .display import shown
from .duplicates import FLAG_LABELS as DUPLICATE_FLAG_LABELS, SAME
from .readable import MULTI_SEPARATOR, answer_text, departement_name  # noqa: F401 - answer_text: the exports' cells
from .review.catalog import Entry, format_moment, format_received
from .template_filters import thousands
from .statuses import PARIS, status_label

FIXED_HEADERS = ["Référence", "Reçue le", "Statut", "Signalements", "Doublons", "Département", "Version",
                 "Réponse envoyée le"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FLAG_LABELS = {
    "hors_normandie": "hors Normandie",
    **DUPLICATE_FLAG_LABELS,
    "a_verifier": "ne valide plus le formulaire",
}
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def guard_formula(value: str) -> str:
    """Make sure a spreadsheet shows the text instead of running it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def flag_label(flag: str) -> str:
    return FLAG_LABELS.get(flag, flag.replace("_", " "))


def headers(form: Any) -> list[str]:
    return FIXED_HEADERS + [field.label for field in form.fields]


def short_headers(form: Any) -> list[str]:
    """The XLSX and ODS headers: each question's short header."""
    return FIXED_HEADERS + [field.column_header for field in form.fields]


def questions(form: Any) -> list[tuple[str, str]]:
    """(short header, full question) of every question, for the sheet « Questions »."""
    return [(field.column_header, field.label) for field in form.fields]


RECEIVED_COLUMN = FIXED_HEADERS.index("Reçue le")
WRAPPED_TYPES = frozenset({"textarea", "long_text"})


def wrapped_columns(form: Any) -> set[int]:
    """Indexes (from 0) of the columns whose answers are long texts."""
    return {len(FIXED_HEADERS) + number for number, field in enumerate(form.fields) if field.type in WRAPPED_TYPES}


def received_local(entry: Entry) -> datetime | str:
    """The time of receipt in Paris time without offset (what a spreadsheet stores), or the text if unreadable."""
    moment = entry.received_at
    if moment is None:
        return str(entry.record.get("received_at"))
    return moment.astimezone(PARIS).replace(tzinfo=None) if moment.tzinfo else moment


def row(form: Any, entry: Entry) -> list[str]:
    """One export row (guarded against formulas), for CSV."""
    return [guard_formula(cell) for cell in plain_row(form, entry)]


def plain_row(form: Any, entry: Entry) -> list[str]:
    """One export row as texts, unguarded (for formats whose text cells are never evaluated)."""
    answers = entry.answers
    cells = [
        entry.reference,
        format_received(entry),
        status_label(entry.status),
        ", ".join(flag_label(flag) for flag in entry.flags),
        duplicates_cell(entry.duplicates),
        departement_name(entry.record),
        str(entry.version),
        format_moment(entry.answered_at),
    ]
    cells = [shown(cell, multiline=False) for cell in cells]
    cells += [answer_text(form, field, answers.get(field.name)) for field in form.fields]
    return cells


DUPLICATES_LISTED = 20


def duplicates_cell(duplicates: list[tuple[str, str]]) -> str:
    """`AMI-2021-0002 (même SIRET), …`, at most DUPLICATES_LISTED named, then « et 1 496 autres dossiers »."""
    named = ", ".join(f"{other} ({SAME[kind]})" for other, kind in duplicates[:DUPLICATES_LISTED])
    rest = len(duplicates) - DUPLICATES_LISTED
    if rest <= 0:
        return named
    return f"{named} et {thousands(rest)} autre{'s' if rest > 1 else ''} dossier{'s' if rest > 1 else ''} en doublon"


def rows(form: Any, entries: Iterable[Entry]) -> Iterator[list[str]]:
    for entry in entries:
        yield row(form, entry)


def write_csv(form: Any, entries: Iterable[Entry], out: IO[bytes]) -> int:
    """CSV as a French spreadsheet expects it: UTF-8 with BOM, `;`, CRLF. Returns the row count."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headers(form))
    count = 0
    for cells in rows(form, entries):
        writer.writerow(cells)
        count += 1
    text.flush()
    text.detach()
    return count


def _width(header: str, field: Any | None) -> float:
    if field is not None and getattr(field, "type", "") in {"textarea", "long_text"}:
        return 60
    return min(max(len(header) + 2, 14), 45)


def write_xlsx(form: Any, entries: Iterable[Entry], out: IO[bytes], cut: list[Any] | None = None) -> int:
    """exports_xlsx.write_xlsx, imported on first use: openpyxl takes a twentieth of a second
    to import, which every command and worker would pay at start-up. `cut` collects the cells
    cut to fit (exports_xlsx.CutCell)."""
    from .exports_xlsx import write_xlsx as write

    return write(form, entries, out, cut)
