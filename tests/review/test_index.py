"""The review index (state/index.sqlite3): derived from the files, in step with them on each use.

Built from scratch equals built step by step; a hand-edited, added or deleted file shows at
the next use; a corrupt file is named and flagged, never fatal; filters, search and sort
on a known set of records.
"""

from __future__ import annotations

import os
import sqlite3

import pytest
import yaml

from collector.records import record_path, write_record
from collector.review.catalog import scan_catalog
from collector.review.index import DB_FILE, RecordIndex, Selection, search_words
from collector.review.validity import record_validator
from collector.statuses import add_note, change_status, history_path
from tests.review.factory import make_record, write_records


def index_path(data_dir: str) -> str:
    return os.path.join(data_dir, "state", DB_FILE)


def open_index(data_dir: str, form) -> RecordIndex:
    return RecordIndex(data_dir, record_validator(form, trust_hash=True))


def table_rows(data_dir: str) -> dict[str, list[tuple]]:
    """Every row of the index's tables, but the file signatures (they differ between two copies)."""
    with sqlite3.connect(index_path(data_dir)) as db:
        return {
            "records": sorted(row[:1] + row[4:] for row in db.execute("SELECT * FROM records")),
            "themes": sorted(db.execute("SELECT * FROM themes")),
            "histories": sorted(row[:1] + row[4:] for row in db.execute("SELECT * FROM histories")),
            "details": sorted(db.execute("SELECT * FROM details")),
            "texts": sorted(db.execute("SELECT * FROM texts")),
        }


def facts(entries) -> list[tuple]:
    return [(e.reference, e.status, e.duplicates, e.flags, e.problems, e.organisation, e.thematiques,
             e.type_structure, e.departement, str(e.record["received_at"])) for e in entries]


def edit_record(data_dir: str, reference: str, change) -> None:
    """A hand edit: load the file, change it, write it back in place (same inode)."""
    path = record_path(data_dir, reference)
    with open(path, encoding="utf-8") as handle:
        record = yaml.safe_load(handle)
    change(record)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, allow_unicode=True, sort_keys=False)


@pytest.fixture
def known(data_dir, form):
    """Twelve records plus two that share records[2]'s e-mail and records[0]'s SIRET."""
    records = write_records(data_dir, 12, form)
    write_record(data_dir, make_record(form, 30, contact_email=records[2]["answers"]["contact_email"].upper()))
    write_record(data_dir, make_record(form, 31, siret=records[0]["answers"]["siret"], raison_sociale="Écomusée d'Évreux",
                                       description="Un atelier de réparation d'ordinateurs pour les collégiens."))
    return records


def test_the_index_gives_what_reading_every_file_gives(data_dir, form, known):
    validator = record_validator(form, trust_hash=True)
    change_status(data_dir, "AMI-2021-0003", "en_instruction", by="alice")
    edit_record(data_dir, "AMI-2021-0007", lambda r: r["answers"].update(contact_email="pas-une-adresse"))
    indexed = RecordIndex(data_dir, validator).select(Selection(sort="reference"))
    assert facts(indexed) == facts(scan_catalog(data_dir, validator).entries)
    assert [e.reference for e in indexed if "a_verifier" in e.flags] == ["AMI-2021-0007"]


def test_built_from_scratch_equals_built_step_by_step(data_dir, form, app):
    index = open_index(data_dir, form)
    index.sync()  # an empty index, then the writers update it one by one
    with app.app_context():
        records = write_records(data_dir, 6, form)
        for record in records:  # what intake does once a record is stored
            from collector import events

            events.record_stored.send(app, record=record, path=record_path(data_dir, record["reference"]))
    change_status(data_dir, "AMI-2021-0002", "en_instruction", by="alice")
    add_note(data_dir, "AMI-2021-0002", "Rappeler.", by="alice")
    change_status(data_dir, "AMI-2021-0004", "sans_suite", by="bruno")
    step_by_step = table_rows(data_dir)
    assert len(step_by_step["records"]) == 6 and len(step_by_step["histories"]) == 2

    open_index(data_dir, form).rebuild()
    assert table_rows(data_dir) == step_by_step
    open_index(data_dir, form).rebuild(processes=2)
    assert table_rows(data_dir) == step_by_step


def test_writers_update_the_index_at_once(data_dir, form, app, records):
    open_index(data_dir, form).sync()
    with app.app_context():
        from collector import events

        record = make_record(form, 50)
        write_record(data_dir, record)
        events.record_stored.send(app, record=record, path=record_path(data_dir, record["reference"]))
    change_status(data_dir, "AMI-2021-0005", "en_instruction", by="alice")
    with sqlite3.connect(index_path(data_dir)) as db:  # read straight from the file: no sync ran since
        assert db.execute("SELECT COUNT(*) FROM records WHERE name = 'AMI-2021-0050'").fetchone() == (1,)
        assert db.execute("SELECT status FROM histories WHERE name = 'AMI-2021-0005'").fetchone() == ("en_instruction",)


@pytest.fixture(params=["inotify", "scan"])
def watching(request, monkeypatch):
    """Each use learns what changed from inotify, or (where there is none) by looking at every file."""
    from collector.review.folder_watch import WATCH

    if request.param == "scan":
        monkeypatch.setattr(WATCH, "changes", lambda folder: None)
    return request.param


def test_a_hand_edited_added_or_deleted_file_shows_at_the_next_use(data_dir, form, records, watching):
    index = open_index(data_dir, form)
    assert index.total() == 12
    edit_record(data_dir, "AMI-2021-0004", lambda r: r["answers"].update(raison_sociale="Médiathèque renommée"))
    write_record(data_dir, make_record(form, 40))          # as a restored backup would bring it back
    os.unlink(record_path(data_dir, "AMI-2021-0009"))
    os.makedirs(os.path.dirname(history_path(data_dir, "AMI-2021-0001")), exist_ok=True)
    with open(history_path(data_dir, "AMI-2021-0001"), "w", encoding="utf-8") as handle:  # written by hand
        yaml.safe_dump({"reference": "AMI-2021-0001", "status": "sans_suite", "events": []}, handle)

    index = open_index(data_dir, form)
    entries = {entry.reference: entry for entry in index.select(Selection())}
    assert entries["AMI-2021-0004"].organisation == "Médiathèque renommée"
    assert "AMI-2021-0040" in entries and "AMI-2021-0009" not in entries
    assert entries["AMI-2021-0001"].status == "sans_suite"
    assert [e.reference for e in index.select(Selection(search="renommée"))] == ["AMI-2021-0004"]
    os.replace(record_path(data_dir, "AMI-2021-0040"), record_path(data_dir, "AMI-2021-0009"))  # renamed back
    entries = {entry.reference: entry for entry in open_index(data_dir, form).select(Selection())}
    assert "AMI-2021-0040" not in entries
    assert any(line.startswith("AMI-2021-0009.yaml : la référence inscrite (AMI-2021-0040)")
               for line in open_index(data_dir, form).warnings())


def test_a_corrupt_file_is_named_and_left_out_never_fatal_and_back_once_fixed(data_dir, form, records, watching):
    path = record_path(data_dir, "AMI-2021-0006")
    with open(path, "rb") as handle:
        good = handle.read()
    with open(path, "ab") as handle:
        handle.write(b"answers: [unclosed\n")
    os.makedirs(os.path.dirname(history_path(data_dir, "AMI-2021-0002")), exist_ok=True)
    with open(history_path(data_dir, "AMI-2021-0002"), "w", encoding="utf-8") as handle:
        handle.write("status: [\n")
    index = open_index(data_dir, form)
    assert index.total() == 11
    warnings = index.warnings()
    assert any(line.startswith("AMI-2021-0006.yaml") for line in warnings)
    assert any(line.startswith("reviews/AMI-2021-0002.yaml") for line in warnings)
    with open(path, "wb") as handle:
        handle.write(good)
    assert open_index(data_dir, form).total() == 12


def test_a_missing_or_damaged_index_is_rebuilt(data_dir, form, records):
    open_index(data_dir, form).sync()
    os.unlink(index_path(data_dir))
    assert open_index(data_dir, form).total() == 12
    with open(index_path(data_dir), "wb") as handle:
        handle.write(b"this is not a database" * 100)
    assert open_index(data_dir, form).total() == 12


def test_the_reindex_command_rebuilds_from_the_files(runner, data_dir, records):
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Index reconstruit : 12 candidature(s) lue(s)" in result.stdout


@pytest.mark.parametrize("search, expected", [
    ("AMI-2021-0005", ["AMI-2021-0005"]),
    ("ami-2021-0005", ["AMI-2021-0005"]),
    ('"Structure numéro 7"', ["AMI-2021-0007"]),                  # a phrase, between quotes
    ("collégiens ordinateurs", ["AMI-2021-0031"]),                # words, in any order
    ("ecomusee evreux", ["AMI-2021-0031"]),                       # without accents
    ("réparation collégiens", ["AMI-2021-0031"]),                  # words of the project
    ("CONTACT3@EXEMPLE.FR", ["AMI-2021-0003", "AMI-2021-0030"]),  # e-mail, any case
    ("nobody@nowhere.example", []),
])
def test_search_finds_references_structures_emails_and_words(data_dir, form, known, search, expected):
    found = [e.reference for e in open_index(data_dir, form).select(Selection(search=search, sort="reference"))]
    assert found == expected


def test_search_finds_a_siret_typed_in_groups(data_dir, form, known):
    siret = known[0]["answers"]["siret"]
    grouped = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    assert search_words(grouped) == [siret]
    found = [e.reference for e in open_index(data_dir, form).select(Selection(search=grouped, sort="reference"))]
    assert found == [r["reference"] for r in known if r["answers"].get("siret") == siret] + ["AMI-2021-0031"]


def test_filters_combine_and_duplicates_are_a_filter(data_dir, form, known):
    index = open_index(data_dir, form)
    change_status(data_dir, "AMI-2021-0003", "en_instruction", by="alice")
    calvados = sorted(r["reference"] for r in known if r["derived"]["departement"]["code"] == "14")
    assert [e.reference for e in index.select(Selection(departement="14", sort="reference"))] == calvados
    assert [e.reference for e in open_index(data_dir, form).select(Selection(status="en_instruction"))] == ["AMI-2021-0003"]
    email = [e.reference for e in index.select(Selection(flag="doublon_email", sort="reference"))]
    assert email == ["AMI-2021-0003", "AMI-2021-0030"]
    siret = [e.reference for e in index.select(Selection(flag="doublon_siret", sort="reference"))]
    assert "AMI-2021-0031" in siret and known[0]["reference"] in siret
    entry = index.entry("AMI-2021-0030")
    assert entry.duplicates == [("AMI-2021-0003", "email")] and "doublon_email" in entry.flags
    teletravail = [e.reference for e in index.select(Selection(thematique="teletravail", type_structure="association"))]
    assert teletravail == [e.reference for e in scan_catalog(data_dir).entries if "teletravail" in e.thematiques
                           and e.type_structure == "association"]


def test_sorts_by_date_structure_departement_and_status(data_dir, form, known):
    change_status(data_dir, "AMI-2021-0005", "en_instruction", by="alice")
    change_status(data_dir, "AMI-2021-0005", "oriente_feder", by="alice")
    change_status(data_dir, "AMI-2021-0008", "en_instruction", by="alice")
    index = open_index(data_dir, form)
    newest_first = [e.reference for e in index.select(Selection(sort="date", descending=True))]
    assert newest_first[0] == "AMI-2021-0031" and newest_first[-1] == "AMI-2021-0001"
    by_structure = [e.organisation for e in index.select(Selection(sort="structure"))]
    assert by_structure[0] == "Écomusée d'Évreux"  # « É » sorts with « e », before « Structure »
    departements = [e.departement for e in index.select(Selection(sort="departement"))]
    assert departements == sorted(departements)
    by_status = [e.status for e in index.select(Selection(sort="statut"))]
    assert by_status[-2:] == ["en_instruction", "oriente_feder"] and set(by_status[:-2]) == {"recu"}


def test_neighbours_walk_the_current_selection(data_dir, form, known):
    index = open_index(data_dir, form)
    selection = Selection(search="contact3@exemple.fr")
    assert index.neighbours(selection, "AMI-2021-0003") == (None, "AMI-2021-0030", 1, 2)
    assert index.neighbours(selection, "AMI-2021-0030") == ("AMI-2021-0003", None, 2, 2)
    assert index.neighbours(selection, "AMI-2021-0001") == (None, None, 0, 2)


def test_counts_by_day_week_theme_departement_type_and_status(data_dir, form, known):
    counts = open_index(data_dir, form).count_by()
    assert sum(counts["statut"].values()) == len(known) + 2
    assert counts["jour"]["2021-03-29"] == sum(r["received_at"].startswith("2021-03-29") for r in known)
    assert counts["semaine"]["2021-S13"] >= counts["jour"]["2021-03-29"]
    assert counts["thematique"]["teletravail"] == sum("teletravail" in r["answers"]["thematiques"] for r in known) + sum(
        "teletravail" in make_record(form, n)["answers"]["thematiques"] for n in (30, 31))
