"""OpenDocument spreadsheet export (.ods), the office format the RGI sets, written with odfpy.

Same rows as the CSV and XLSX exports (exports.py): a bold header of short column names,
frozen by LibreOffice's view settings, « Reçue le » as a date-time cell, long answers
wrapped, and a second sheet « Questions » with each column's full question. Text cells
are typed as text (office:value-type="string"), so a spreadsheet never evaluates them:
no apostrophe is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from odf.config import ConfigItem, ConfigItemMapEntry, ConfigItemMapIndexed, ConfigItemMapNamed, ConfigItemSet
from odf.number import DateStyle, Day, Hours, Minutes, Month, Text as NumberText, Year
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import ParagraphProperties, Style, TableCellProperties, TableColumnProperties, TextProperties
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import P

from .exports import (RECEIVED_COLUMN, FIXED_HEADERS, _width, plain_row, questions, received_local,
                      short_headers, wrapped_columns)
from .review.catalog import Entry

BRAND = "#1f4e79"


class _Styles:
    """The few automatic styles the sheets use."""

    def __init__(self, document: OpenDocumentSpreadsheet) -> None:
        date_style = DateStyle(name="date-heure")
        for part in (Day(style="long"), NumberText(text="/"), Month(style="long"), NumberText(text="/"),
                     Year(style="long"), NumberText(text=" "), Hours(style="long"), NumberText(text=":"),
                     Minutes(style="long")):
            date_style.addElement(part)
        document.automaticstyles.addElement(date_style)
        self.header = Style(name="entete", family="table-cell")
        self.header.addElement(TableCellProperties(backgroundcolor=BRAND, wrapoption="wrap"))
        self.header.addElement(TextProperties(fontweight="bold", color="#ffffff"))
        self.date = Style(name="date", family="table-cell", datastylename="date-heure")
        self.wrapped = Style(name="long", family="table-cell")
        self.wrapped.addElement(TableCellProperties(wrapoption="wrap", verticalalign="top"))
        self.wrapped.addElement(ParagraphProperties(textalign="start"))
        for style in (self.header, self.date, self.wrapped):
            document.automaticstyles.addElement(style)
        self.columns: dict[float, Style] = {}
        self.document = document

    def column(self, width_chars: float) -> Style:
        """A column style `width_chars` characters wide (about 0.2 cm each)."""
        if width_chars not in self.columns:
            style = Style(name=f"col{len(self.columns)}", family="table-column")
            style.addElement(TableColumnProperties(columnwidth=f"{width_chars * 0.2:.2f}cm"))
            self.document.automaticstyles.addElement(style)
            self.columns[width_chars] = style
        return self.columns[width_chars]


def _text_cell(value: str, style: Style | None = None) -> TableCell:
    cell = TableCell(valuetype="string", stylename=style) if style is not None else TableCell(valuetype="string")
    for line in value.split("\n") or [""]:
        cell.addElement(P(text=line))
    return cell


def _date_cell(moment: datetime, style: Style) -> TableCell:
    cell = TableCell(valuetype="date", datevalue=moment.isoformat(timespec="seconds"), stylename=style)
    cell.addElement(P(text=moment.strftime("%d/%m/%Y %H:%M")))
    return cell


def _header_row(titles: list[str], styles: _Styles) -> TableRow:
    row = TableRow()
    for title in titles:
        row.addElement(_text_cell(title, styles.header))
    return row


def _freeze_first_row(document: OpenDocumentSpreadsheet, sheet_name: str) -> None:
    """LibreOffice's view settings: the header row stays visible while scrolling."""
    view = ConfigItemSet(name="ooo:view-settings")
    views = ConfigItemMapIndexed(name="Views")
    entry = ConfigItemMapEntry()
    entry.addElement(ConfigItem(name="ViewId", type="string", text="view1"))
    tables = ConfigItemMapNamed(name="Tables")
    table = ConfigItemMapEntry(name=sheet_name)
    for name, kind, value in (("HorizontalSplitMode", "short", "0"), ("VerticalSplitMode", "short", "2"),
                              ("VerticalSplitPosition", "int", "1"), ("ActiveSplitRange", "short", "2"),
                              ("PositionBottom", "int", "1")):
        table.addElement(ConfigItem(name=name, type=kind, text=value))
    tables.addElement(table)
    entry.addElement(tables)
    views.addElement(entry)
    view.addElement(views)
    document.settings.addElement(view)


def write_ods(form: Any, entries: Iterable[Entry], out: IO[bytes]) -> int:
    """An ODS workbook: sheet « Candidatures » (one row per submission) and sheet « Questions »."""
    document = OpenDocumentSpreadsheet()
    styles = _Styles(document)
    sheet = Table(name="Candidatures")
    titles = short_headers(form)
    fields_by_column = [None] * len(FIXED_HEADERS) + list(form.fields)
    for title, field in zip(titles, fields_by_column):
        sheet.addElement(TableColumn(stylename=styles.column(_width(title, field))))
    sheet.addElement(_header_row(titles, styles))
    wrapped = wrapped_columns(form)
    count = 0
    for entry in entries:
        row = TableRow()
        received = received_local(entry)
        for index, value in enumerate(plain_row(form, entry)):
            if index == RECEIVED_COLUMN and isinstance(received, datetime):
                row.addElement(_date_cell(received, styles.date))
            else:
                row.addElement(_text_cell(value, styles.wrapped if index in wrapped else None))
        sheet.addElement(row)
        count += 1
    document.spreadsheet.addElement(sheet)

    glossary = Table(name="Questions")
    glossary.addElement(TableColumn(stylename=styles.column(30)))
    glossary.addElement(TableColumn(stylename=styles.column(90)))
    glossary.addElement(_header_row(["Colonne", "Question posée dans le formulaire"], styles))
    for short, label in questions(form):
        row = TableRow()
        row.addElement(_text_cell(short))
        row.addElement(_text_cell(label, styles.wrapped))
        glossary.addElement(row)
    document.spreadsheet.addElement(glossary)
    _freeze_first_row(document, "Candidatures")
    document.write(out)
    return count
