"""The marks the mailer's catch-up compares (`histories.marks`, `versions.marks`) change whenever a
dossier's history or versions do, on both stores, and list exactly the dossiers that have them.

mail/catch_up.py reads a dossier again only when its mark changed: a mark that stayed the same
after an event would leave that event's mail unsent until the mailer restarts.
"""

from __future__ import annotations

import os

import pytest

from collector.formdef import load_form
from collector.records import serialise_record
from collector.statuses import add_note
from collector.stores.folder_histories import file_mark
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record
from tests.support.stores import store_opener


@pytest.fixture(scope="module")
def form():
    return load_form()


@pytest.fixture(params=STORE_KINDS)
def kept(request, data_dir, form):
    """A store of each kind holding the records AMI-2021-0001 and AMI-2021-0002, without history."""
    store = store_opener(request.param, data_dir, request)()
    for number in (1, 2):
        assert store.write_record(make_record(form, number))
    yield store
    store.close()


def version(form, number: int, reference: str = "AMI-2021-0001") -> bytes:
    return serialise_record({**make_record(form, 1), "reference": reference, "version": number})


def test_a_history_mark_is_there_once_it_has_a_history_changes_with_each_event_and_goes_with_it(kept):
    assert kept.histories.marks() == {} and kept.histories.references() == []
    add_note(kept, "AMI-2021-0002", "Vu", by="alice")
    first = kept.histories.marks()
    assert list(first) == ["AMI-2021-0002"] and first["AMI-2021-0002"] is not None
    add_note(kept, "AMI-2021-0002", "Vu encore", by="alice")
    second = kept.histories.marks()
    assert second["AMI-2021-0002"] != first["AMI-2021-0002"], "a new event, a new mark"
    add_note(kept, "AMI-2021-0001", "Vu", by="bruno")
    assert kept.histories.marks()["AMI-2021-0002"] == second["AMI-2021-0002"], "another dossier's event leaves it"
    assert kept.histories.references() == ["AMI-2021-0001", "AMI-2021-0002"]
    assert kept.histories.remove("AMI-2021-0002") and list(kept.histories.marks()) == ["AMI-2021-0001"]


def test_a_versions_mark_is_there_once_corrected_and_changes_with_each_version(kept, form):
    assert kept.versions.marks() == {} and kept.versions.numbers("AMI-2021-0001") == []
    kept.versions.write("AMI-2021-0001", 2, version(form, 2))
    first = kept.versions.marks()
    assert list(first) == ["AMI-2021-0001"] and first["AMI-2021-0001"] is not None  # never versions/tmp/
    kept.versions.write("AMI-2021-0001", 3, version(form, 3))
    assert kept.versions.marks()["AMI-2021-0001"] != first["AMI-2021-0001"], "a new version, a new mark"
    assert kept.versions.numbers("AMI-2021-0001") == [2, 3]
    assert kept.versions.read("AMI-2021-0001", 3)["version"] == 3
    assert kept.versions.text("AMI-2021-0001", 2) == version(form, 2)
    assert kept.versions.remove("AMI-2021-0001") == 2 and kept.versions.numbers("AMI-2021-0001") == []


def test_a_history_text_is_the_stored_document_and_none_without_one(kept):
    assert kept.histories.text("AMI-2021-0001") is None and kept.histories.read("AMI-2021-0001") is None
    add_note(kept, "AMI-2021-0001", "Vu", by="alice")
    assert kept.histories.read("AMI-2021-0001")["events"][-1]["note"] == "Vu"
    assert b"Vu" in kept.histories.text("AMI-2021-0001")


def test_a_files_mark_is_its_time_size_and_inode_and_none_once_gone(tmp_path):
    path = tmp_path / "AMI-2021-0001.yaml"
    path.write_bytes(b"status: recu\n")
    stat = os.stat(path)
    assert file_mark(str(path)) == (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    path.unlink()
    assert file_mark(str(path)) is None
