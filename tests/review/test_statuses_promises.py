"""collector/statuses.py keeps its promises: exact transitions and events, refusals in French, shape checks.

The rules run on the test's store (`test_store`: `pytest --store=postgres` moves them to PostgreSQL);
the promises of the data folder's history files (their YAML, locks, announcements) on the data folder."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone

import pytest
import yaml

from collector import statuses
from collector.records import record_path
from collector.statuses import (OUTCOMES, STATUSES, TRANSITIONS, StatusError, add_note, change_status,
                                read_all_statuses, read_history)
from tests.review.factory import make_record
from tests.support.stores import write_history_text

REFERENCE = "AMI-2021-0001"
AT = datetime(2021, 4, 16, 7, 12, 0, tzinfo=timezone.utc)  # 09:12 in Paris (summer time)


@pytest.fixture
def one(test_store, form):
    """A record under the reference, in the test's store (its answers do not matter to the statuses)."""
    assert test_store.write_record(make_record(form, 1))
    return REFERENCE


@pytest.fixture
def one_on_disk(data_dir):
    """A record file under the reference, for the promises of the data folder's history files."""
    os.makedirs(os.path.dirname(record_path(data_dir, REFERENCE)))
    open(record_path(data_dir, REFERENCE), "w").close()
    return REFERENCE


def test_the_documented_transitions_and_no_other():
    assert TRANSITIONS == {
        "recu": {"en_instruction", "sans_suite"},
        "en_instruction": set(OUTCOMES),
        **{outcome: {"en_instruction"} for outcome in OUTCOMES},
    }
    assert set(TRANSITIONS) == set(STATUSES)
    assert OUTCOMES == ("accompagnement_propose", "oriente_fil_de_l_eau", "oriente_appel_a_projets",
                        "oriente_feder", "sans_suite")


def test_a_status_change_records_exactly_who_when_from_to_and_note(test_store, one):
    history = change_status(test_store, one, "en_instruction", by="  alice ", note=" Dossier complet. ", now=AT)
    event = {"at": "2021-04-16T09:12:00+02:00", "by": "alice", "kind": "status", "from": "recu",
             "to": "en_instruction", "note": "Dossier complet."}
    assert history == {"reference": REFERENCE, "status": "en_instruction", "events": [event]}
    assert read_history(test_store, one) == history


def test_a_note_records_who_when_and_text_and_keeps_the_status(test_store, one):
    change_status(test_store, one, "en_instruction", by="alice", now=AT)
    history = add_note(test_store, one, " Rappeler lundi. ", by="bob", now=AT)
    assert history["status"] == "en_instruction"
    assert history["events"][-1] == {"at": "2021-04-16T09:12:00+02:00", "by": "bob", "kind": "note",
                                     "note": "Rappeler lundi."}


def test_without_a_given_time_the_paris_clock_is_used(test_store, one):
    before = datetime.now(statuses.PARIS).replace(microsecond=0)
    at = datetime.fromisoformat(add_note(test_store, one, "x", by="bob")["events"][0]["at"])
    assert before <= at <= datetime.now(statuses.PARIS)
    assert at.utcoffset() == before.utcoffset()


def test_a_note_on_a_reference_that_does_not_exist_is_refused(test_store, one):
    with pytest.raises(StatusError, match="Aucune candidature ne porte la référence AMI-2021-0002."):
        add_note(test_store, "AMI-2021-0002", "Rappeler lundi.", by="alice")
    with pytest.raises(StatusError, match="Aucune candidature ne porte la référence AMI-2021-0002."):
        change_status(test_store, "AMI-2021-0002", "en_instruction", by="alice")
    assert test_store.histories.text("AMI-2021-0002") is None


@pytest.mark.parametrize("reference", ["", "ami-2021-0001", "../AMI-2021-0001", "-AMI", "A" * 65, None])
def test_malformed_references_are_refused(test_store, reference):
    with pytest.raises(StatusError, match="Référence invalide"):
        add_note(test_store, reference, "x", by="alice")


def test_a_reference_of_64_characters_is_well_formed(test_store):
    with pytest.raises(StatusError, match="Aucune candidature"):
        statuses.check_reference(test_store, "A" * 64)


@pytest.mark.parametrize("note, by, message", [
    ("", "alice", "La note est vide : écrivez quelque chose."),
    ("   ", "alice", "La note est vide : écrivez quelque chose."),
    ("x", "", "Indiquez qui écrit cette note."),
    ("x", None, "Indiquez qui écrit cette note."),
    ("x" * 5001, "alice", "La note est trop longue : 5\u202f000 caractères au plus."),
    ("x", "a" * 101, "Le nom est trop long : 100 caractères au plus."),
])
def test_bad_notes_are_refused_in_french(test_store, one, note, by, message):
    with pytest.raises(StatusError) as refusal:
        add_note(test_store, one, note, by=by)
    assert str(refusal.value) == message
    assert read_history(test_store, one)["events"] == []


def test_a_note_and_a_name_at_their_limits_are_kept(test_store, one):
    history = add_note(test_store, one, "x" * 5000, by="a" * 100, now=AT)
    assert history["events"][0]["note"] == "x" * 5000 and history["events"][0]["by"] == "a" * 100
    history = change_status(test_store, one, "en_instruction", by="a" * 100, note="y" * 5000, now=AT)
    assert history["events"][-1]["note"] == "y" * 5000


@pytest.mark.parametrize("note, by, message", [
    ("x", "", "Indiquez qui fait ce changement."),
    ("x" * 5001, "alice", "La note est trop longue : 5\u202f000 caractères au plus."),
    ("x", "a" * 101, "Le nom est trop long : 100 caractères au plus."),
])
def test_bad_status_changes_are_refused_in_french(test_store, one, note, by, message):
    with pytest.raises(StatusError) as refusal:
        change_status(test_store, one, "en_instruction", by=by, note=note)
    assert str(refusal.value) == message


def test_the_author_is_always_named_never_guessed_from_the_position(test_store, one):
    with pytest.raises(TypeError):
        add_note(test_store, one, "Rappeler lundi.", "alice")
    with pytest.raises(TypeError):
        change_status(test_store, one, "en_instruction", "alice")


def test_an_unknown_status_lists_the_known_ones(test_store, one):
    with pytest.raises(StatusError) as refusal:
        change_status(test_store, one, "accepte", by="alice")
    assert str(refusal.value) == "Statut inconnu : « accepte ». Statuts possibles : " + ", ".join(STATUSES) + "."


def test_a_stale_expected_status_is_refused_and_a_current_one_accepted(test_store, one):
    change_status(test_store, one, "en_instruction", by="alice", expected_from="recu")
    with pytest.raises(StatusError) as refusal:
        change_status(test_store, one, "sans_suite", by="bob", expected_from="recu")
    assert str(refusal.value) == ("Le statut de AMI-2021-0001 vient d'être changé en « en instruction » par "
                                  "quelqu'un d'autre : relisez-le avant de le modifier.")


def test_the_allowed_statuses_are_listed_in_the_catalogue_order(test_store, one):
    change_status(test_store, one, "en_instruction", by="alice")
    with pytest.raises(StatusError) as refusal:
        change_status(test_store, one, "recu", by="alice")
    assert str(refusal.value).endswith(
        "Statuts possibles depuis « en instruction » : « accompagnement proposé », « orienté : financement au "
        "fil de l'eau », « orienté : appel à projets », « orienté : FEDER », « sans suite ».")


@pytest.mark.parametrize("text", [
    "- a list\n",
    "reference: AMI-2021-0001\nstatus: accepte\nevents: []\n",
    "reference: AMI-2021-0001\nevents: []\n",
    "reference: AMI-2021-0001\nstatus: recu\nevents: {}\n",
    "reference: AMI-2021-0001\nstatus: recu\n",
])
def test_a_history_of_the_wrong_shape_is_refused_not_used(test_store, one, text):
    write_history_text(test_store, REFERENCE, text)
    with pytest.raises(StatusError) as refusal:
        read_history(test_store, one)
    assert str(refusal.value) == "Historique illisible : AMI-2021-0001.yaml n'a pas la forme attendue."
    with pytest.raises(StatusError):
        add_note(test_store, one, "x", by="alice")


def test_an_unreadable_history_file_is_refused(test_store, one):
    write_history_text(test_store, REFERENCE, "status: [unclosed\n")
    with pytest.raises(StatusError, match="^Historique illisible : "):
        read_history(test_store, one)


def test_all_statuses_are_read_and_unreadable_ones_marked(test_store, one):
    assert read_all_statuses(test_store) == {}
    change_status(test_store, one, "sans_suite", by="alice")
    write_history_text(test_store, "AMI-2021-0002", "- broken\n")
    assert read_all_statuses(test_store) == {"AMI-2021-0001": "sans_suite", "AMI-2021-0002": "historique_illisible"}


def test_the_history_is_written_as_yaml_in_reviews(data_dir, one_on_disk):
    change_status(data_dir, one_on_disk, "en_instruction", by="alice", now=AT)
    with open(os.path.join(data_dir, "reviews", "AMI-2021-0001.yaml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["status"] == "en_instruction"


def test_removing_a_history_removes_its_lock_and_says_whether_there_was_one(data_dir, one_on_disk):
    previous = os.umask(0o022)
    try:
        add_note(data_dir, one_on_disk, "x", by="alice")
    finally:
        os.umask(previous)
    lock = os.path.join(data_dir, "locks", "review-AMI-2021-0001.lock")
    assert stat.S_IMODE(os.stat(lock).st_mode) == 0o640
    assert statuses.remove_history(data_dir, one_on_disk) is True
    assert not os.path.exists(statuses.history_path(data_dir, one_on_disk))
    assert not os.path.exists(os.path.join(data_dir, "locks", "review-AMI-2021-0001.lock"))
    assert statuses.remove_history(data_dir, one_on_disk) is False
    assert read_history(data_dir, one_on_disk) == {"reference": REFERENCE, "status": "recu", "events": []}


def test_a_lock_already_removed_by_a_concurrent_purge_is_no_error(data_dir, one_on_disk, monkeypatch):
    add_note(data_dir, one_on_disk, "x", by="alice")
    real_unlink = os.unlink

    def unlink(path):
        real_unlink(path)
        if path.endswith(".lock"):
            raise FileNotFoundError(2, "removed meanwhile", path)

    monkeypatch.setattr(statuses.os, "unlink", unlink)
    assert statuses.remove_history(data_dir, one_on_disk) is True


def test_duplicates_are_paired_both_ways_and_sorted():
    records = [
        {"reference": "A-3", "answers": {"siret": "732 829 320 00074", "contact_email": "X@Example.org "}},
        {"reference": "A-1", "answers": {"siret": "73282932000074", "contact_email": "y@example.org"}},
        {"reference": "A-2", "answers": {"siret": "7328293200007", "contact_email": " x@example.ORG"}},
        {"reference": "A-4", "answers": {}},
        {"reference": "A-5", "answers": None},
        {"reference": "A-6", "answers": {"siret": "36252187900034", "contact_email": "seul@example.org"}},
    ]
    assert statuses.find_duplicates(records) == {
        "A-1": [("A-3", "siret")],
        "A-2": [("A-3", "email")],
        "A-3": [("A-1", "siret"), ("A-2", "email")],
    }
    assert statuses.duplicate_flags([("A-1", "email"), ("A-2", "siret")]) == ["doublon_siret", "doublon_email"]
    assert statuses.duplicate_flags([("A-1", "email")]) == ["doublon_email"]
    assert statuses.duplicate_flags([]) == []


def test_only_a_14_digit_siret_makes_a_duplicate():
    records = [{"reference": f"A-{index}", "answers": {"siret": siret}}
               for index, siret in enumerate(["7328293200007", "7328293200007", "732829320000745", "732829320000745"])]
    assert statuses.find_duplicates(records) == {}


def test_an_unknown_status_code_is_shown_as_it_is():
    assert statuses.status_label("inconnu") == "inconnu"


def test_the_references_with_a_history_are_the_yaml_files_of_reviews(data_dir):
    assert statuses.history_references(data_dir) == []
    os.makedirs(os.path.join(data_dir, "reviews"))
    for name in ("AMI-2021-0001.yaml", "AMI-2021-0002.yaml", "AMI-2021-0003.yaml.bak", "notes.txt"):
        open(os.path.join(data_dir, "reviews", name), "w").close()
    assert sorted(statuses.history_references(data_dir)) == ["AMI-2021-0001", "AMI-2021-0002"]


def test_an_event_refused_by_its_precondition_under_the_lock_is_not_recorded(test_store, one):
    add_note(test_store, one, "Premier échange.", by="alice", now=AT)
    seen = []

    def refuse(history):
        seen.append(history)
        raise StatusError("Le rendez-vous a été annulé entre-temps.")

    with pytest.raises(StatusError, match="annulé entre-temps"):
        statuses.add_event(test_store, one, {"at": "2021-04-16T09:12:00+02:00", "kind": "message"}, precondition=refuse)
    assert [event["kind"] for event in seen[0]["events"]] == ["note"]  # the history as it is on disk
    assert read_history(test_store, one)["events"] == seen[0]["events"]
    accepted = statuses.add_event(test_store, one, {"at": "2021-04-16T09:12:00+02:00", "kind": "message"},
                                  precondition=lambda history: None)
    assert [event["kind"] for event in accepted["events"]] == ["note", "message"]


@pytest.mark.parametrize("kind", ["status", "".join(["sta", "tus"])])  # a literal, or text read at run time
def test_a_status_change_never_goes_through_add_event(test_store, one, kind):
    with pytest.raises(StatusError, match="^Un changement de statut passe par change_status.$"):
        statuses.add_event(test_store, one, {"at": "2021-04-16T09:12:00+02:00", "kind": kind, "from": "recu",
                                           "to": "sans_suite"})
    assert read_all_statuses(test_store) == {}


def test_an_event_of_an_unknown_kind_is_refused_and_the_history_stays_readable(test_store, one):
    with pytest.raises(StatusError, match="^Événement de type inconnu : « rendez_vous_inconnu »"):
        statuses.add_event(test_store, one, {"at": "2021-04-16T09:12:00+02:00", "by": "alice", "kind": "rendez_vous_inconnu"})
    assert read_history(test_store, one)["events"] == []


NOTE = "{at: '2021-04-16T09:12:00+02:00', by: alice, kind: note, note: Vu.}"


@pytest.mark.parametrize("broken, problem", [
    ("{at: '2021-04-16T09:12:00+02:00', by: alice, kind: status, from: recu, to: accepte}",
     "statut de départ ou d'arrivée inconnu"),
    ("{at: '2021-04-16T09:12:00+02:00', by: alice, kind: status, from: inconnu, to: sans_suite}",
     "statut de départ ou d'arrivée inconnu"),
    ("{at: '2021-04-16T09:12:00+02:00', kind: note}", "il manque by"),
    ("un texte", "ce n'est pas un tableau de clés"),
    ("{at: '2021-04-16T09:12:00+02:00', by: alice, kind: une_sorte_inconnue_et_longue}",
     "type inconnu (une_sorte_inconnue_e)"),  # its first 20 characters
])
def test_a_broken_event_is_refused_naming_its_number_from_one(test_store, one, broken, problem):
    write_history_text(test_store, REFERENCE, f"reference: {REFERENCE}\nstatus: recu\nevents:\n- {NOTE}\n- {broken}\n")
    with pytest.raises(StatusError) as refusal:
        read_history(test_store, one)
    assert str(refusal.value) == f"Historique illisible : AMI-2021-0001.yaml, événement n° 2 : {problem}."


def test_every_history_written_is_announced_to_the_review_index(data_dir, one_on_disk):
    from collector import events

    heard = []

    def listener(sender, **details):
        heard.append((sender, details))

    events.history_written.connect(listener)
    try:
        change_status(data_dir, one_on_disk, "en_instruction", by="alice", now=AT)
        add_note(data_dir, one_on_disk, "Vu.", by="bob", now=AT)
    finally:
        events.history_written.disconnect(listener)
    assert heard == [(data_dir, {"reference": one_on_disk, "status": "en_instruction"})] * 2


def test_a_listener_that_fails_changes_nothing_saved_and_is_logged_without_the_text(data_dir, one_on_disk, caplog):
    from collector import events

    def broken(sender, **details):
        raise RuntimeError("index indisponible")

    events.history_written.connect(broken)
    try:
        history = add_note(data_dir, one_on_disk, "Note confidentielle.", by="alice", now=AT)
    finally:
        events.history_written.disconnect(broken)
    assert read_history(data_dir, one_on_disk) == history
    assert "history_written listener failed for AMI-2021-0001: RuntimeError" in caplog.text
    assert "confidentielle" not in caplog.text and "index indisponible" not in caplog.text
