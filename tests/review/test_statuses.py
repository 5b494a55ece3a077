"""Statuses, their history and notes, and duplicates (collector/statuses.py).

The history's rules hold on both stores: `kept` is the data folder's or PostgreSQL's."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from collector.records import record_path
from collector.statuses import (STATUSES, StatusError, add_note, change_status, find_duplicates, read_history,
                                status_label)
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record
from tests.review.test_exports import exported
from tests.support.stores import store_opener


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def open_store(store_kind, data_dir, request):
    return store_opener(store_kind, data_dir, request)


@pytest.fixture
def kept(open_store):
    store = open_store()
    yield store
    store.close()


@pytest.fixture
def one(kept, form):
    record = make_record(form, 1)
    assert kept.write_record(record)
    return record["reference"]


def test_every_status_has_a_french_label():
    assert [status_label(code) for code in STATUSES] == [
        "reçu", "en instruction", "accompagnement proposé", "orienté : financement au fil de l'eau",
        "orienté : appel à projets", "orienté : FEDER", "sans suite"]


@pytest.mark.parametrize("path", [
    ["en_instruction", "accompagnement_propose"],
    ["en_instruction", "oriente_fil_de_l_eau"],
    ["en_instruction", "oriente_appel_a_projets"],
    ["en_instruction", "oriente_feder"],
    ["en_instruction", "sans_suite"],
    ["sans_suite"],
    ["en_instruction", "oriente_feder", "en_instruction", "accompagnement_propose"],
])
def test_allowed_paths(kept, one, path):
    for status in path:
        history = change_status(kept, one, status, by="alice", note=f"vers {status}")
    assert history["status"] == path[-1]
    assert [event["to"] for event in read_history(kept, one)["events"]] == path


@pytest.mark.parametrize("path, target, message", [
    ([], "accompagnement_propose",
     "Passage impossible de « reçu » à « accompagnement proposé ». Statuts possibles depuis « reçu » : "
     "« en instruction », « sans suite »."),
    ([], "recu", "Passage impossible de « reçu » à « reçu »."),
    (["en_instruction"], "recu", "Passage impossible de « en instruction » à « reçu »."),
    (["en_instruction", "oriente_feder"], "sans_suite",
     "Passage impossible de « orienté : FEDER » à « sans suite ». Statuts possibles depuis "
     "« orienté : FEDER » : « en instruction »."),
    ([], "accepte", "Statut inconnu : « accepte »."),
])
def test_refused_transitions_say_why_in_french(kept, one, path, target, message):
    for status in path:
        change_status(kept, one, status, by="alice")
    with pytest.raises(StatusError) as caught:
        change_status(kept, one, target, by="alice")
    assert str(caught.value).startswith(message)
    assert len(read_history(kept, one)["events"]) == len(path)


@pytest.mark.parametrize("reference, message", [
    ("AMI-2021-9999", "Aucune candidature ne porte la référence AMI-2021-9999."),
    ("../secret_key", "Référence invalide : « ../secret_key »."),
])
def test_unknown_or_hostile_references_are_refused(kept, one, reference, message):
    with pytest.raises(StatusError, match=message.replace("(", r"\(").replace(".", r"\.")):
        change_status(kept, reference, "en_instruction", by="alice")


def test_history_keeps_who_when_from_to_and_note(kept, one):
    change_status(kept, one, "en_instruction", by="alice", note="Dossier complet.")
    add_note(kept, one, "Appeler la structure\nlundi.", by="bruno")
    events = read_history(kept, one)["events"]
    assert events[0]["by"] == "alice" and events[0]["from"] == "recu" and events[0]["to"] == "en_instruction"
    assert events[0]["note"] == "Dossier complet."
    assert events[0]["at"].endswith(("+01:00", "+02:00"))
    assert events[1] == {**events[1], "kind": "note", "by": "bruno", "note": "Appeler la structure\nlundi."}


@pytest.mark.parametrize("note, by, message", [
    ("", "alice", "La note est vide"),
    ("ok", "", "Indiquez qui écrit cette note."),
    ("x" * 5001, "alice", "La note est trop longue : 5\u202f000 caractères au plus."),
    ("bip\x07", "alice", "caractère de contrôle invisible"),
])
def test_bad_notes_are_refused(kept, one, note, by, message):
    with pytest.raises(ValueError, match=message):
        add_note(kept, one, note, by=by)


@pytest.mark.parametrize("store_kind", ["folder"])  # its file's bytes and time
def test_the_record_itself_is_never_modified(data_dir, one):
    path = record_path(data_dir, one)
    before = open(path, "rb").read(), os.stat(path).st_mtime_ns
    change_status(data_dir, one, "en_instruction", by="alice", note="vu")
    add_note(data_dir, one, "note", by="alice")
    assert (open(path, "rb").read(), os.stat(path).st_mtime_ns) == before


def test_a_stale_form_cannot_overwrite_a_fresher_decision(kept, one):
    change_status(kept, one, "en_instruction", by="alice")
    change_status(kept, one, "oriente_feder", by="alice", expected_from="en_instruction")
    with pytest.raises(StatusError, match="vient d'être changé en « orienté : FEDER » par quelqu'un d'autre"):
        change_status(kept, one, "sans_suite", by="bruno", expected_from="en_instruction")


def _add_notes(open_store, reference: str, who: str, count: int) -> None:
    store = open_store()  # each process its own (a connection pool is not shared across a fork)
    for number in range(count):
        add_note(store, reference, f"{who} {number}", by=who)
    store.close()


def test_concurrent_reviewers_never_lose_each_others_notes(data_dir, open_store, kept, one):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_notes, args=(open_store, one, who, 15)) for who in ("alice", "bruno", "chloe")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    notes = [event["note"] for event in read_history(kept, one)["events"]]
    assert sorted(notes) == sorted(f"{who} {n}" for who in ("alice", "bruno", "chloe") for n in range(15))
    assert not os.path.isdir(os.path.join(data_dir, "tmp")) or not os.listdir(os.path.join(data_dir, "tmp"))


def test_duplicates_share_a_siret_or_an_email_whatever_its_case(app, put_records):
    existing = put_records(3)
    siret = existing[0]["answers"]["siret"]
    put_records(1, start=4, siret=f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}")  # AMI-2021-0001's
    put_records(1, start=5, contact_email="CONTACT2@Exemple.FR")  # same e-mail as AMI-2021-0002
    entries = {entry.reference: entry for entry in exported(app)}
    flags = {reference: entry.flags for reference, entry in entries.items()}
    assert "doublon_siret" in flags["AMI-2021-0001"] and "doublon_siret" in flags["AMI-2021-0004"]
    assert "doublon_email" in flags["AMI-2021-0002"] and "doublon_email" in flags["AMI-2021-0005"]
    assert not any(flag.startswith("doublon") for flag in flags["AMI-2021-0003"])
    assert entries["AMI-2021-0004"].duplicates == [("AMI-2021-0001", "siret")]


def test_empty_siret_or_email_never_make_duplicates():
    records = [{"reference": f"R{n}", "answers": {"siret": "", "contact_email": ""}} for n in range(3)]
    assert find_duplicates(records) == {}
