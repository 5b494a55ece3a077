"""Spreadsheet exports of the submissions: CSV for any French spreadsheet, and XLSX.

Columns: reference, time of receipt, status, flags, duplicates, département, then every
question of the form definition in the form's order, headed by its French label, with
choice labels (not codes) as values. The form definition drives the columns: add a
question to content/data/form.yaml and the exports follow.

Cells that a spreadsheet would run as a formula (starting with = + - @, or a tab or CR)
are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .review.catalog import Entry, departement_name, format_moment, format_received
from .statuses import status_label

FIXED_HEADERS = ["Référence", "Reçue le", "Statut", "Signalements", "Doublons", "Département", "Version",
                 "Réponse envoyée le"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FLAG_LABELS = {
    "hors_normandie": "hors Normandie",
    "doublon_siret": "SIRET en double",
    "doublon_email": "e-mail en double",
    "a_verifier": "ne valide plus le formulaire",
}
DUPLICATE_KINDS = {"siret": "SIRET", "email": "e-mail"}
MULTI_SEPARATOR = " ; "
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def guard_formula(value: str) -> str:
    """Make sure a spreadsheet shows the text instead of running it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def flag_label(flag: str) -> str:
    return FLAG_LABELS.get(flag, flag.replace("_", " "))


def headers(form: Any) -> list[str]:
    return FIXED_HEADERS + [field.label for field in form.fields]


def answer_text(form: Any, field: Any, value: Any) -> str:
    """An answer as a reviewer reads it: choice labels, oui/non, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(answer_text(form, field, item) for item in value)
    if getattr(field, "choices", None):
        label = form.choice_label(field.name, value)
        return str(label if label is not None else value)
    return str(value)


def row(form: Any, entry: Entry) -> list[str]:
    """One export row (guarded against formulas)."""
    answers = entry.answers
    cells = [
        entry.reference,
        format_received(entry),
        status_label(entry.status),
        ", ".join(flag_label(flag) for flag in entry.flags),
        ", ".join(f"{other} ({DUPLICATE_KINDS[kind]})" for other, kind in entry.duplicates),
        departement_name(entry.record),
        str(entry.version),
        format_moment(entry.answered_at),
    ]
    cells += [answer_text(form, field, answers.get(field.name)) for field in form.fields]
    return [guard_formula(cell) for cell in cells]


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


def write_xlsx(form: Any, entries: Iterable[Entry], out: IO[bytes]) -> int:
    """An XLSX workbook (write-only mode, streamed): bold frozen header, filters, widths."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Candidatures")
    names = headers(form)
    fields_by_column = [None] * len(FIXED_HEADERS) + list(form.fields)
    for index, (header, field) in enumerate(zip(names, fields_by_column), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(header, field)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1F4E79")
    wrap = Alignment(wrap_text=True, vertical="top")
    header_cells = []
    for header in names:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for cells in rows(form, entries):
        sheet.append(cells)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{count + 1}"
    book.save(out)
    return count


def export_filename(fmt: str, stamp: str) -> str:
    return f"candidatures-{stamp}.{fmt}"
