"""CSV, XLSX and ODS exports read back by readers other than their writers: the stdlib csv
module for CSV, python-calamine (Rust's calamine) for XLSX and ODS, whose writers are
openpyxl and odfpy. Same rows everywhere, « Reçue le » a real date-time, short headers with
the full questions on the sheet « Questions », long answers wrapped, file names that say
what was exported."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import pytest
from python_calamine import CalamineWorkbook

from collector.export_files import FORMATS, export_name
from collector.exports import FIXED_HEADERS
from tests.review.factory import make_record
from tests.review.test_exports import exported


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def sheets(data: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def typed_moment(value) -> datetime:
    """A date-time cell as calamine gives it (a date alone when the time is midnight); never a text."""
    assert isinstance(value, (datetime, date)), f"« Reçue le » must be a date-time, not {value!r}"
    return value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())


def export(form, entries, fmt: str) -> bytes:
    buffer = io.BytesIO()
    FORMATS[fmt].writer(form, entries, buffer)
    return buffer.getvalue()


@pytest.fixture
def entries(app, records, put_records):
    """The twelve records and one with a formula, a semicolon and a line break, as the export selects them."""
    put_records(1, start=40, raison_sociale='=HYPERLINK("http://x";"clic")',
                description="Première ligne ; point-virgule.\nDeuxième ligne : é à ç œ.", commune="-Saint-Lô")
    chosen = exported(app)
    assert len(chosen) == 13
    return chosen


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_spreadsheets_hold_the_csv_rows_with_real_dates(form, entries, fmt):
    reference = csv_rows(export(form, entries, "csv"))
    got = sheets(export(form, entries, fmt))
    assert list(got) == ["Candidatures", "Questions"]
    rows = got["Candidatures"]
    assert len(rows) == len(reference) == len(entries) + 1
    assert rows[0] == FIXED_HEADERS + [field.column_header for field in form.fields]
    for row, expected, entry in zip(rows[1:], reference[1:], entries):
        received = typed_moment(row[1])
        assert received == entry.received_at.replace(tzinfo=None)
        assert f"{received:%d/%m/%Y %H:%M}" == expected[1]
        texts = [str(cell) for cell in row[:1] + row[2:]]
        # the CSV's anti-formula apostrophe: spreadsheets' text cells are never evaluated, so never need it
        wanted = [cell[1:] if cell.startswith("'") else cell for cell in expected[:1] + expected[2:]]
        assert texts == wanted


def test_ods_text_cells_are_never_formulas_so_they_carry_no_apostrophe(form, entries):
    rows = sheets(export(form, entries, "ods"))["Candidatures"]
    tricky = [row for row in rows if row[0] == "AMI-2021-0040"][0]
    column = {name: index for index, name in enumerate(rows[0])}
    assert tricky[column["Raison sociale"]] == '=HYPERLINK("http://x";"clic")'
    assert tricky[column["Commune"]] == "-Saint-Lô"
    assert tricky[column["Description du projet"]] == "Première ligne ; point-virgule.\nDeuxième ligne : é à ç œ."
    with zipfile.ZipFile(io.BytesIO(export(form, entries, "ods"))) as archive:
        content = archive.read("content.xml").decode("utf-8")
        assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    assert "table:formula" not in content


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_the_questions_sheet_gives_each_short_header_its_full_question(form, entries, fmt):
    rows = sheets(export(form, entries, fmt))["Questions"]
    assert rows[0] == ["Colonne", "Question posée dans le formulaire"]
    assert rows[1:] == [[field.column_header, field.label] for field in form.fields]
    assert any(len(field.label) > 60 for field in form.fields), "the sample needs a long question"


def test_long_answers_wrap_in_both_spreadsheets(form, entries):
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(export(form, entries, "xlsx")))["Candidatures"]
    column = [cell.value for cell in sheet[1]].index("Description du projet") + 1
    assert sheet.cell(row=2, column=column).alignment.wrap_text
    assert sheet.cell(row=2, column=2).number_format == "DD/MM/YYYY HH:MM"
    with zipfile.ZipFile(io.BytesIO(export(form, entries, "ods"))) as archive:
        content = archive.read("content.xml").decode("utf-8")
    assert 'fo:wrap-option="wrap"' in content and 'office:value-type="date"' in content


@pytest.mark.parametrize("filters, expected", [
    ({}, "candidatures-20210615.xlsx"),
    ({"departement": "14", "status": "en_instruction"}, "candidatures-calvados-en-instruction-20210615.xlsx"),
    ({"departement": "76", "thematique": "teletravail", "type_structure": "association", "status": "oriente_feder"},
     "candidatures-seine-maritime-teletravail-association-oriente-feder-20210615.xlsx"),
    ({"flag": "doublon_siret", "search": "Tiers-lieu d'Évreux"},
     "candidatures-siret-en-double-recherche-tiers-lieu-d-evreux-20210615.xlsx"),
])
def test_file_names_say_what_was_exported(form, filters, expected):
    assert export_name("xlsx", datetime(2021, 6, 15).date(), form, **filters) == expected


def test_the_export_command_names_its_file_after_the_filters(runner, records, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMI_NOW", "2021-06-15T10:00:00")
    result = runner.invoke(args=["export", "--format", "ods", "--departement", "Calvados"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "candidatures-calvados-20210615.ods").is_file()
    assert "candidatures-calvados-20210615.ods" in result.stderr


@pytest.mark.parametrize("fmt, media", [("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats"),
                                        ("ods", "application/vnd.oasis.opendocument.spreadsheet")])
def test_the_review_page_downloads_every_format_named_after_its_filters(logged_in, records, fmt, media):
    response = logged_in.get(f"/instruction/export.{fmt}?departement=14&statut=recu")
    assert response.status_code == 200
    assert response.content_type.startswith(media)
    assert response.headers["Content-Disposition"] == f'attachment; filename="candidatures-calvados-recu-20210415.{fmt}"'
    calvados = [r["reference"] for r in records if r["derived"]["departement"]["code"] == "14"]
    data = response.get_data()
    rows = csv_rows(data) if fmt == "csv" else sheets(data)["Candidatures"]
    assert [row[0] for row in rows[1:]] == calvados


def test_a_text_too_long_for_an_xlsx_cell_is_cut_with_a_visible_mark_and_whole_elsewhere(app, form, records,
                                                                                          test_store):
    record = make_record(form, 41)  # a record edited by hand: exported all the same, longer than any answer allows
    text = "Un projet décrit très longuement. " * 1200 + "FIN DU TEXTE."
    record["answers"]["description"] = text
    assert test_store.write_record(record)
    entries = [entry for entry in exported(app) if entry.reference == record["reference"]]
    column = len(FIXED_HEADERS) + [field.name for field in form.fields].index("description")
    [cell] = [row[column] for row in sheets(export(form, entries, "xlsx"))["Candidatures"][1:]]
    assert len(cell) == 32_767 and cell.startswith("Un projet décrit")
    assert cell.endswith(" […] [texte coupé : 40\u202f813 caractères au total, plus qu'une cellule XLSX n'en contient ; "
                         "les exports CSV et ODS le donnent en entier]")
    assert sheets(export(form, entries, "ods"))["Candidatures"][1][column] == text
    assert csv_rows(export(form, entries, "csv"))[1][column] == text


def test_the_duplicates_cell_names_twenty_dossiers_and_counts_the_others(app, form, put_records):
    put_records(23, siret="73282932000017")
    entries = exported(app)
    column = FIXED_HEADERS.index("Doublons")
    for fmt in ("xlsx", "ods"):
        cell = sheets(export(form, entries, fmt))["Candidatures"][1][column]
        assert cell.count("(même SIRET)") == 20 and cell.endswith(" et 2 autres dossiers en doublon")


@pytest.mark.parametrize("fmt, warned", [("xlsx", True), ("ods", False), ("csv", False)])
def test_the_export_command_warns_when_the_xlsx_cuts_a_cell_and_names_the_dossier(runner, form, records, test_store,
                                                                                  tmp_path, fmt, warned):
    record = make_record(form, 41)  # a record edited by hand, longer than any answer allows
    record["answers"]["description"] = "Un projet décrit très longuement. " * 1200 + "FIN DU TEXTE."
    assert test_store.write_record(record)
    result = runner.invoke(args=["export", "--format", fmt, "--output", str(tmp_path / f"export.{fmt}")])
    assert result.exit_code == 0, result.output
    warning = ("Attention : l'export XLSX a coupé 1 texte(s) plus long(s) que les 32\u202f767 caractères d'une cellule "
               "(une marque à la fin de la cellule le signale), dans 1 dossier(s) : AMI-2021-0041 (Description du "
               "projet, 40\u202f813 caractères). Le CSV et l'ODS les gardent entiers (--format csv ou --format ods).")
    assert (warning in result.stderr) is warned, result.stderr
    assert "Attention" not in result.stdout


def test_an_xlsx_export_whose_cells_all_fit_warns_of_nothing(runner, records, tmp_path):
    result = runner.invoke(args=["export", "--format", "xlsx", "--output", str(tmp_path / "export.xlsx")])
    assert result.exit_code == 0, result.output
    assert "coupé" not in result.stderr
