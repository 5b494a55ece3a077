"""The XLSX export (openpyxl, write-only mode): see exports.py for the columns and the cells.

Excel holds 32,767 characters in a cell, and openpyxl cuts a longer text there without a
word: `fitted` cuts it itself, ending the cell with a mark that says how long the text was
and that the CSV and ODS exports hold it whole (a record edited by hand can be that long).
The writer lists the cells it cut (`CutCell`) for whoever asked, and `cut_warning` says so
in French: the `export` command prints it on stderr.

Apart from exports.py so that importing the exports' columns (the commands, the review
pages) does not import openpyxl, a twentieth of a second: `exports.write_xlsx` imports
this module when an XLSX file is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .exports import (FIXED_HEADERS, RECEIVED_COLUMN, _width, guard_formula, plain_row, questions, received_local,
                      short_headers, wrapped_columns)
from .review.catalog import Entry
from .template_filters import thousands

CELL_LIMIT = 32_767  # characters in one XLSX cell (Excel's limit, where openpyxl cuts silently)


def fitted(text: str) -> str:
    """`text`, or its beginning with a visible mark when an XLSX cell cannot hold it whole."""
    if len(text) <= CELL_LIMIT:
        return text
    mark = (f" […] [texte coupé : {thousands(len(text))} caractères au total, plus qu'une cellule XLSX n'en "
            "contient ; les exports CSV et ODS le donnent en entier]")
    return text[:CELL_LIMIT - len(mark)] + mark


@dataclass(frozen=True)
class CutCell:
    """A cell the XLSX export had to cut: whose dossier, which column, how long the text was."""
    reference: str
    column: str
    length: int


def cut_warning(cut: list[CutCell]) -> str:
    """What a reviewer is told when an XLSX export cut cells (empty when none was)."""
    if not cut:
        return ""
    dossiers: dict[str, list[str]] = {}
    for cell in cut:
        dossiers.setdefault(cell.reference, []).append(f"{cell.column}, {thousands(cell.length)} caractères")
    named = " ; ".join(f"{reference} ({' ; '.join(cells)})" for reference, cells in dossiers.items())
    return (f"Attention : l'export XLSX a coupé {len(cut)} texte(s) plus long(s) que les {thousands(CELL_LIMIT)} "
            f"caractères d'une cellule (une marque à la fin de la cellule le signale), dans {len(dossiers)} dossier(s) : "
            f"{named}. Le CSV et l'ODS les gardent entiers (--format csv ou --format ods).")


def _text_cell(sheet: Any, value: str) -> Any:
    """A text cell: openpyxl would store a text starting with `=` as a formula."""
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def write_xlsx(form: Any, entries: Iterable[Entry], out: IO[bytes], cut: list[CutCell] | None = None) -> int:
    """An XLSX workbook (write-only mode, streamed): bold frozen header, filters, widths,
    dates as dates, long answers wrapped, and the sheet « Questions ». Each cell cut to fit
    is added to `cut` when given."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Candidatures")
    names = short_headers(form)
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
    wrapped = sorted(wrapped_columns(form))
    count = 0
    for entry in entries:
        whole = plain_row(form, entry)
        if cut is not None:
            cut.extend(CutCell(entry.reference, names[index], len(text))
                       for index, text in enumerate(whole) if len(text) > CELL_LIMIT)
        texts = [fitted(text) for text in whole]
        cells: list[Any] = [_text_cell(sheet, text) for text in texts]
        received = received_local(entry)
        if isinstance(received, datetime):
            cells[RECEIVED_COLUMN] = WriteOnlyCell(sheet, value=received)
            cells[RECEIVED_COLUMN].number_format = "DD/MM/YYYY HH:MM"
        for index in wrapped:
            cells[index] = WriteOnlyCell(sheet, value=texts[index])
            cells[index].data_type = "s"  # a text, even one starting with `=`
            cells[index].alignment = wrap
        sheet.append(cells)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{count + 1}"
    _questions_sheet(book, form, bold, fill, wrap)
    book.save(out)
    return count


def _questions_sheet(book: Workbook, form: Any, bold: Font, fill: PatternFill, wrap: Alignment) -> None:
    sheet = book.create_sheet("Questions")
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 90
    header = []
    for title in ("Colonne", "Question posée dans le formulaire"):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font, cell.fill = bold, fill
        header.append(cell)
    sheet.append(header)
    for short, label in questions(form):
        question = WriteOnlyCell(sheet, value=guard_formula(label))
        question.alignment = wrap
        sheet.append([guard_formula(short), question])
