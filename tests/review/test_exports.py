"""Exports: opened back as a French spreadsheet would (csv with ; and BOM, openpyxl), compared to records."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from collector.exports import FIXED_HEADERS, guard_formula, short_headers, write_csv, write_xlsx
from collector.review.catalog import Entry
from collector.review.index import Selection
from collector.review.indexing import app_index


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM expected"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def exported(app) -> list[Entry]:
    """Every submission of the app's store, as the export command selects them (its review index)."""
    return app_index(app).select(Selection())


@pytest.fixture
def tricky(put_records):
    """A record whose texts a spreadsheet could misread: formula, quotes, ; and line breaks."""
    [record] = put_records(1, start=40, raison_sociale='=HYPERLINK("http://x";"clic")',
                           projet_titre='Le « tiers-lieu » ; "phase 1"',
                           description="Première ligne ; avec point-virgule.\nDeuxième ligne, accentuée : é à ç œ.",
                           commune="-Saint-Lô", territoire="@Manche")
    return record


def test_csv_headers_come_from_the_form_in_order(app, records, form):
    buffer = io.BytesIO()
    write_csv(form, exported(app), buffer)
    rows = read_csv(buffer.getvalue())
    assert rows[0] == FIXED_HEADERS + [field.label for field in form.fields]
    assert len(rows) == 13


def test_csv_is_crlf_with_semicolons(app, records, form):
    buffer = io.BytesIO()
    write_csv(form, exported(app), buffer)
    data = buffer.getvalue()
    assert data.count(b"\r\n") >= 13
    assert b";" in data.split(b"\r\n")[0]


def test_csv_values_are_what_a_reviewer_reads(app, records, form):
    buffer = io.BytesIO()
    write_csv(form, exported(app), buffer)
    rows = read_csv(buffer.getvalue())
    header = rows[0]
    by_reference = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    for record in records:
        row = by_reference[record["reference"]]
        answers = record["answers"]
        assert row["Statut"] == "reçu"
        assert row["Département"] == record["derived"]["departement"]["name"]
        assert row[form.field("raison_sociale").label] == answers["raison_sociale"]
        assert row[form.field("type_structure").label] == form.choice_label("type_structure", answers["type_structure"])
        assert row[form.field("thematiques").label] == " ; ".join(
            form.choice_label("thematiques", value) for value in answers["thematiques"])
        assert row[form.field("rgpd").label] == "oui"
        assert row[form.field("description").label] == answers["description"]
        date, time = record["received_at"][:10], record["received_at"][11:16]
        assert row["Reçue le"] == f"{date[8:10]}/{date[5:7]}/{date[:4]} {time}"


def test_csv_keeps_quotes_semicolons_and_line_breaks_and_guards_formulas(app, records, form, tricky):
    buffer = io.BytesIO()
    write_csv(form, exported(app), buffer)
    rows = read_csv(buffer.getvalue())
    row = dict(zip(rows[0], [r for r in rows if r[0] == tricky["reference"]][0]))
    assert row[form.field("raison_sociale").label] == "'" + tricky["answers"]["raison_sociale"]
    assert row[form.field("projet_titre").label] == 'Le « tiers-lieu » ; "phase 1"'
    assert row[form.field("description").label] == tricky["answers"]["description"]
    assert row[form.field("commune").label] == "'-Saint-Lô"
    assert row[form.field("territoire").label] == "'@Manche"


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+33 2 31 06 98 98", "'+33 2 31 06 98 98"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("Caen", "Caen"), ("", ""), ("a=b", "a=b"),
])
def test_formula_guard(value, expected):
    assert guard_formula(value) == expected


def test_duplicates_and_flags_appear_in_the_export(app, records, form, put_records):
    put_records(1, start=30, contact_email=records[2]["answers"]["contact_email"].upper())
    buffer = io.BytesIO()
    write_csv(form, exported(app), buffer)
    rows = read_csv(buffer.getvalue())
    row = dict(zip(rows[0], [r for r in rows if r[0] == "AMI-2021-0030"][0]))
    assert row["Doublons"] == f"{records[2]['reference']} (même adresse e-mail)"
    assert "e-mail en double" in row["Signalements"]
    outside = [r for r in records if "hors_normandie" in r["flags"]][0]
    assert "hors Normandie" in dict(zip(rows[0], [r for r in rows if r[0] == outside["reference"]][0]))["Signalements"]


def test_xlsx_has_the_same_rows_a_bold_frozen_header_and_widths(app, records, form, tricky):
    entries = exported(app)
    csv_buffer, xlsx_buffer = io.BytesIO(), io.BytesIO()
    write_csv(form, entries, csv_buffer)
    assert write_xlsx(form, entries, xlsx_buffer) == 13
    book = load_workbook(io.BytesIO(xlsx_buffer.getvalue()))
    sheet = book["Candidatures"]
    values = [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    csv_rows = [[cell[1:] if cell.startswith("'") and guard_formula(cell[1:]) == cell else cell for cell in row]
                for row in read_csv(csv_buffer.getvalue())]
    assert values[0] == short_headers(form)
    assert [row[:1] + row[2:] for row in values[1:]] == [row[:1] + row[2:] for row in csv_rows[1:]], \
        "XLSX holds the CSV's cells, without the CSV's anti-formula apostrophe"
    assert [f"{row[1]:%d/%m/%Y %H:%M}" for row in values[1:]] == [row[1] for row in csv_rows[1:]]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.auto_filter.ref.startswith("A1:")
    assert sheet.column_dimensions["A"].width >= 14
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row), "no formula may slip through"


def test_export_command_writes_both_formats(runner, records, tmp_path, form):
    for fmt in ("csv", "xlsx"):
        target = tmp_path / f"export.{fmt}"
        result = runner.invoke(args=["export", "--format", fmt, "--output", str(target), "--departement", "14"])
        assert result.exit_code == 0, result.output
        assert "1 candidature(s) exportée(s)" in result.stderr
    assert len(read_csv(target.with_suffix(".csv").read_bytes())) == 2
    assert load_workbook(target).active.max_row == 2
