"""collector/stores/folder.py keeps the Store's promises (base.py) in the data folder it writes:
references given once, records written once and read back byte for byte, the ids' links, the
rate limiters' files, and a French reason from check() when the folder cannot be written."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from collector import dossier, sequence
from collector.records import RecordError, build_record, serialise_record
from collector.stores.folder import FolderStore

PREFIX = "AMI-2021"
RECEIVED = datetime(2021, 4, 15, 10, tzinfo=timezone.utc)


@pytest.fixture
def store(data_dir):
    return FolderStore(data_dir)


def a_record(reference: str, title: str = "Tiers-lieu « Les Ateliers »") -> dict:
    return build_record(reference, RECEIVED, 3, {"projet_titre": title}, flags=["tardif"],
                        derived={"departement": {"code": "14", "nom": "Calvados"}})


def record_path(data_dir: str, reference: str) -> str:
    return os.path.join(data_dir, "submissions", reference + ".yaml")


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def test_it_is_the_data_folder_store_and_shares_everything(store, data_dir):
    assert (store.kind, store.shares_everything, store.data_dir) == ("dossier", True, data_dir)


def test_a_new_submission_gets_a_fresh_reference_and_keeps_it_when_posted_again(store, data_dir):
    assert store.lookup_submission("envoi-1") is None
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-0001", True)
    assert store.lookup_submission("envoi-1") == "AMI-2021-0001"
    assert os.readlink(os.path.join(data_dir, "ids", "envoi-1")) == "AMI-2021-0001"
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-0001", False)  # not fresh: the first claim holds
    other, fresh = store.reference_for("envoi-2", PREFIX)
    assert fresh and other not in ("AMI-2021-0001",) and other.startswith("AMI-2021-")


def test_a_repeat_is_not_fresh_even_when_the_new_number_has_one_more_digit(store, data_dir):
    sequence.set_counter(data_dir, 9998)
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-9999", True)
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-9999", False)  # the number taken meanwhile: 10000


def test_a_released_submission_forgets_its_reference_and_only_that_one(store, data_dir):
    reference, _fresh = store.reference_for("envoi-1", PREFIX)
    store.release_submission("envoi-1", "AMI-2021-9999")  # not its reference: kept
    assert store.lookup_submission("envoi-1") == reference
    store.release_submission("envoi-1", reference)
    assert store.lookup_submission("envoi-1") is None
    assert os.listdir(os.path.join(data_dir, "ids")) == []
    assert store.submission_links() == []


def test_a_record_is_written_once_and_read_back_as_written(store, data_dir):
    record = a_record("AMI-2021-0001")
    assert not store.has_record("AMI-2021-0001") and store.read_record("AMI-2021-0001") is None
    assert store.write_record(record) is True
    assert store.has_record("AMI-2021-0001")
    assert store.read_record("AMI-2021-0001") == record
    assert read_bytes(record_path(data_dir, "AMI-2021-0001")) == serialise_record(record)

    assert store.write_record(a_record("AMI-2021-0001", "Autre titre")) is False  # a second write changes nothing
    assert store.read_record("AMI-2021-0001") == record
    assert read_bytes(record_path(data_dir, "AMI-2021-0001")) == serialise_record(record)


def test_a_record_name_held_by_something_else_than_a_file_makes_the_folder_unusable(store, data_dir):
    os.makedirs(record_path(data_dir, "AMI-2021-0001"))  # a folder where the record's file should be
    with pytest.raises(OSError, match="submissions folder unusable"):
        store.write_record(a_record("AMI-2021-0001"))


def test_the_record_file_and_text_are_the_stored_bytes(store, data_dir):
    record = a_record("AMI-2021-0007")
    store.write_record(record)
    path = store.record_file("AMI-2021-0007")
    assert path == record_path(data_dir, "AMI-2021-0007") and os.path.isfile(path)
    assert store.record_text("AMI-2021-0007") == read_bytes(path) == serialise_record(record)
    with pytest.raises(FileNotFoundError):
        store.record_text("AMI-2021-0008")


def test_the_latest_record_is_the_newest_version_with_its_number(store, data_dir):
    first = a_record("AMI-2021-0001")
    store.write_record(first)
    assert store.latest_record("AMI-2021-0001") == {**first, "version": 1, "versions": 1}
    dossier.write_correction(data_dir, a_record("AMI-2021-0001", "Titre corrigé"), now=RECEIVED)
    latest = store.latest_record("AMI-2021-0001")
    assert (latest["answers"], latest["version"], latest["versions"]) == ({"projet_titre": "Titre corrigé"}, 2, 2)
    with pytest.raises(RecordError):
        store.latest_record("AMI-2021-0002")


def test_references_are_every_record_in_order_without_their_suffix(store, data_dir):
    assert store.references() == []
    for reference in ("AMI-2021-0010", "AMI-2021-0002", "AMI-2021-0003"):
        store.write_record(a_record(reference))
    with open(os.path.join(data_dir, "submissions", "notes.txt"), "w") as handle:  # not a record
        handle.write("x")
    assert store.references() == ["AMI-2021-0002", "AMI-2021-0003", "AMI-2021-0010"]


def test_submission_links_are_every_claim_sorted_by_submission_id(store):
    ids = [f"envoi-{n:02d}-{'zyxwvutsrq'[n % 10]}" for n in (17, 3, 11, 8, 1, 14, 5, 19, 2, 12, 6, 9)]
    claimed = {submission_id: store.reference_for(submission_id, PREFIX)[0] for submission_id in ids}
    assert store.submission_links() == sorted(claimed.items())


def test_the_last_reference_number_counts_what_was_handed_out(store):
    assert store.last_reference_number(PREFIX) == 0
    store.reference_for("envoi-1", PREFIX)
    store.reference_for("envoi-2", PREFIX)
    assert store.last_reference_number(PREFIX) == 2


def test_the_form_limiter_keeps_its_historical_file_and_others_get_their_own(store, data_dir):
    form = store.rate_limiter("envoi", 2, 600, "clé")
    assert form.path == os.path.join(data_dir, "state", "ratelimit.sqlite3")
    links = store.rate_limiter("lien-perdu", 1, 3600, "clé")
    assert links.path == os.path.join(data_dir, "state", "ratelimit-lien-perdu.sqlite3")
    logins = store.rate_limiter("connexion", 1, 900, "clé")  # a name that sorts before the form's
    assert logins.path == os.path.join(data_dir, "state", "ratelimit-connexion.sqlite3")
    assert [form.hit("192.0.2.1", 6000.0 + i) for i in range(2)] == [None, None]
    assert form.hit("192.0.2.1", 6002.0) is not None  # its own limit and window
    assert links.hit("192.0.2.1", 7200.0) is None  # another file: the form's posts are not counted there
    assert links.hit("192.0.2.1", 7201.0) == 7200  # its own window: an hour
    assert {name for name in os.listdir(os.path.join(data_dir, "state")) if name.endswith(".sqlite3")} == {
        "ratelimit-lien-perdu.sqlite3", "ratelimit.sqlite3"}
    assert (form.limit, form.window, form.secret) == (2, 600, "clé".encode())


def test_check_passes_on_a_writable_folder_and_leaves_nothing_behind(store, data_dir):
    os.makedirs(os.path.join(data_dir, "tmp"))
    assert store.check() is None
    assert os.listdir(os.path.join(data_dir, "tmp")) == []


def test_check_gives_a_french_reason_when_the_folder_cannot_be_written(store, data_dir):
    with open(os.path.join(data_dir, "tmp"), "w") as handle:  # tmp/ is a file: nothing can be made in it
        handle.write("")
    assert store.check() == "dossier de données non inscriptible"


def test_check_on_a_full_disk_removes_the_name_it_made(store, data_dir):
    folder = os.path.join(data_dir, "tmp")
    os.makedirs(folder)
    # The probe's name leads to /dev/full: opening it works, writing fails with ENOSPC.
    os.symlink("/dev/full", os.path.join(folder, f".healthz-{os.getpid()}"))
    assert store.check() == "dossier de données non inscriptible"
    assert os.listdir(folder) == []


def test_close_holds_nothing_to_release(store):
    assert store.close() is None
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-0001", True)  # still usable: nothing was closed
