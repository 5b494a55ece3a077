"""The review index seen by a new process (a command, a fresh worker).

A new process knows nothing of what the files were: it scans them all. When their
signatures are exactly those the index held when it was last brought in step (a digest
kept beside the index's generation), it trusts the index without comparing file by file;
any change since (a hand edit, a file written or removed, another writer's update) sends
it back to the comparison.
"""

from __future__ import annotations

import os
import sqlite3
import sys

import pytest

from collector.records import record_path, write_record
from collector.review.index import DB_FILE, RecordIndex, Selection
from collector.review.validity import record_validator
from tests.review.factory import make_record
from tests.review.test_index import edit_record


@pytest.fixture
def new_process(monkeypatch):
    """Each call opens the index as a process that has not looked at the files yet would."""
    index_module = sys.modules[RecordIndex.__module__]  # the package's `index` name is a view

    def open_fresh(data_dir, form) -> RecordIndex:
        monkeypatch.setattr(index_module, "_seen", {})
        monkeypatch.setattr(index_module, "_answers", {})
        return RecordIndex(data_dir, record_validator(form, trust_hash=True))

    return open_fresh


def names_in_index(data_dir: str) -> dict[str, str]:
    with sqlite3.connect(os.path.join(data_dir, "state", DB_FILE)) as db:
        return dict(db.execute("SELECT name, structure_key FROM records"))


def spoil_an_indexed_structure(data_dir: str, reference: str) -> None:
    """Change what the index says of a record, its signature too, behind its back (no new generation)."""
    with sqlite3.connect(os.path.join(data_dir, "state", DB_FILE)) as db:
        db.execute("UPDATE records SET structure_key = 'changee dans l''index', mtime_ns = 1 WHERE name = ?",
                   (reference,))


def test_a_new_process_trusts_an_index_whose_files_have_not_changed(data_dir, form, records, new_process):
    new_process(data_dir, form).sync()
    spoil_an_indexed_structure(data_dir, "AMI-2021-0003")
    new_process(data_dir, form).sync()  # same files: no comparison, so the spoilt signature stays
    assert names_in_index(data_dir)["AMI-2021-0003"] == "changee dans l'index"


def test_a_new_process_after_reindex_trusts_the_rebuilt_index(data_dir, form, records, new_process):
    new_process(data_dir, form).rebuild()
    spoil_an_indexed_structure(data_dir, "AMI-2021-0003")
    new_process(data_dir, form).sync()
    assert names_in_index(data_dir)["AMI-2021-0003"] == "changee dans l'index"


def test_a_new_process_compares_again_once_a_file_changed(data_dir, form, records, new_process):
    new_process(data_dir, form).sync()
    spoil_an_indexed_structure(data_dir, "AMI-2021-0003")
    edit_record(data_dir, "AMI-2021-0005", lambda r: r["answers"].update(raison_sociale="Tiers-lieu renommé"))
    index = new_process(data_dir, form)
    assert [e.reference for e in index.select(Selection(search="renommé"))] == ["AMI-2021-0005"]
    assert names_in_index(data_dir)["AMI-2021-0003"] != "changee dans l'index"  # its signature was compared


def test_a_file_removed_after_another_writer_updated_the_index_is_seen_gone(data_dir, form, records, new_process):
    """The files are back to what they were at the last comparison, but the index is not:
    a writer added a record to it since. The digest belongs to the older generation."""
    new_process(data_dir, form).sync()
    late = make_record(form, 40)
    path = write_record(data_dir, late)
    new_process(data_dir, form).note_record(late, path)
    os.unlink(record_path(data_dir, late["reference"]))
    index = new_process(data_dir, form)
    assert "AMI-2021-0040" not in {entry.reference for entry in index.select(Selection())}
    assert index.total() == 12
