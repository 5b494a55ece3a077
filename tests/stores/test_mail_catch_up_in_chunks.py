"""The mailer's catch-up reads the dossiers' histories and corrected versions a chunk at a time
(on PostgreSQL a few queries a chunk, not one per history) and queues exactly the mails that
reading each dossier on its own calls for: on both stores, every kind of mail-bearing event
and correction, each once in a dossier whose mails were lost and once in a dossier whose mails
were all queued, spread over several chunks."""

from __future__ import annotations

from datetime import datetime, timedelta

from collector import dossier, meetings
from collector.mail import catch_up as mail_catch_up, delivery
from collector.answers import ANSWER
from collector.facts import load_facts
from collector.formdef import load_form
from collector.porteur.revocation import revoke_link
from collector.statuses import PARIS, add_event, add_note
from tests.review.factory import make_record
from tests.support.stores import store_opener

from .test_histories import kept, store_kind  # noqa: F401 - the test's store, on each store kind

NOW = datetime(2021, 6, 1, 10, tzinfo=PARIS)
SECRET = "porteur-tests-secret"
SLOT = meetings.Slot(NOW + timedelta(days=7), 60, "Caen, hôtel de Région", "Alice Martin")


def a_message(store, form, reference):
    dossier.write_to_porteur(store, reference, "Pouvez-vous préciser le budget ?", by="alice", now=NOW)


def a_porteur_reply(store, form, reference):
    dossier.write_porteur_reply(store, reference, "Le budget est de 12 000 €.", now=NOW)


def an_answer(store, form, reference):
    add_event(store, reference, {"at": NOW.isoformat(), "by": "alice", "kind": ANSWER, "outcome": "sans_suite",
                                 "motivation": "Hors champ.", "corrected": False, "subject": "Votre dossier",
                                 "text": "Madame, Monsieur, …", "html": ""})


def a_proposal(store, form, reference):
    return meetings.propose(store, reference, [SLOT], by="alice", now=NOW)


def an_accepted_meeting(store, form, reference):
    a_proposal(store, form, reference)
    meetings.accept(store, reference, store.histories.read(reference), 1, 0, NOW)


def another_slot_asked(store, form, reference):
    a_proposal(store, form, reference)
    meetings.ask_other(store, reference, store.histories.read(reference), 1, "Plutôt le jeudi.", NOW)


def a_cancelled_meeting(store, form, reference):
    a_proposal(store, form, reference)
    meetings.cancel(store, reference, store.histories.read(reference), 1, by="alice", now=NOW)


def a_correction_changing_the_contact(store, form, reference):
    number = int(reference.rsplit("-", 1)[1])
    corrected = make_record(form, number, contact_email=f"nouveau{number}@exemple.fr")
    assert dossier.write_correction(store, corrected, NOW)["outcome"] == dossier.NEW_VERSION


def a_revocation_with_a_new_contact(store, form, reference):
    revoke_link(store, reference, by="alice", form=form, new_contact="autre@exemple.fr", now=NOW)


def a_revocation(store, form, reference):
    revoke_link(store, reference, by="alice", form=form, now=NOW)


def a_note_only(store, form, reference):
    add_note(store, reference, "Relu.", by="alice")


# What each dossier's life is, and the kinds of the mails it calls for.
LIVES = {
    a_message: ["message-1"],
    a_porteur_reply: ["reponse-porteur-1"],
    an_answer: ["reponse-1"],
    a_proposal: ["rencontre-1-proposee"],
    an_accepted_meeting: ["rencontre-1-confirmee", "rencontre-1-confirmee-region"],  # its one slot was chosen
    another_slot_asked: ["rencontre-1-autre", "rencontre-1-retires"],
    a_cancelled_meeting: ["rencontre-1-annulee", "rencontre-1-annulee-region"],
    a_correction_changing_the_contact: ["accuse-v2", "correction-v2", "contact-v2"],
    a_revocation_with_a_new_contact: ["lien-remplace-1", "lien-remplace-1-ancien-contact", "lien-remplace-1-region"],
    a_revocation: ["lien-remplace-1", "lien-remplace-1-region"],
    a_note_only: [],
}


def test_the_chunked_catch_up_queues_every_lost_mail_the_per_dossier_reading_finds_and_no_other(kept, monkeypatch):
    form, facts = load_form(), load_facts()
    settings = delivery.MailSettings(dossier_secret=SECRET)
    lost, queued_already = [], []
    for index, life in enumerate(LIVES):
        for number, kind in ((2 * index + 1, queued_already), (2 * index + 2, lost)):
            record = make_record(form, number)
            assert kept.write_record(record)
            life(kept, form, record["reference"])
            kind.append(record["reference"])
    assert kept.write_record(make_record(form, 99)), "a dossier with no life after « reçu »"
    for reference in queued_already:  # their mails were queued by the requests that stored their events
        mail_catch_up.catch_up_dossier(kept, reference, facts, form, settings, set())

    def per_dossier(reference: str) -> list[str]:
        return sorted(delivery.message_name(reference, kind) for kinds, _compose in
                      mail_catch_up.wanted_mails(kept, reference, facts, form, settings) for kind in kinds)

    expected = sorted(name for reference in lost for name in per_dossier(reference))
    assert expected == sorted(delivery.message_name(reference, kind)
                              for reference, kinds in zip(lost, LIVES.values()) for kind in kinds)
    monkeypatch.setattr(mail_catch_up, "CHUNK", 4)  # several chunks, mixing both kinds of dossiers
    catch_up = mail_catch_up.LifecycleCatchUp()
    assert sorted(catch_up.run(kept, facts, form, settings)) == expected
    assert set(expected) <= kept.outbox.known_names()
    assert catch_up.run(kept, facts, form, settings) == [], "each mail queued once"
    assert mail_catch_up.catch_up(kept, facts, form, settings) == [], "a first pass after a restart finds none missing"


def test_on_postgresql_a_first_pass_reads_the_histories_a_chunk_at_a_time_not_one_by_one(database_url, data_dir,
                                                                                      request, monkeypatch):
    form, facts = load_form(), load_facts()
    settings = delivery.MailSettings(dossier_secret=SECRET)
    kept = store_opener("postgres", data_dir, request)()
    try:
        for number in range(1, 13):
            record = make_record(form, number)
            assert kept.write_record(record)
            (a_message if number % 3 else a_correction_changing_the_contact)(kept, form, record["reference"])
        assert mail_catch_up.catch_up(kept, facts, form, settings), "every mail queued once"
        monkeypatch.setattr(mail_catch_up, "CHUNK", 5, raising=False)
        transactions = []
        borrow = kept.pool.connection
        monkeypatch.setattr(kept.pool, "connection", lambda *args, **kwargs: transactions.append(1) or borrow(
            *args, **kwargs))
        assert mail_catch_up.catch_up(kept, facts, form, settings) == [], "a first pass after a start: none missing"
        # the marks (2), the outbox's names (1), then each chunk's documents (1) of 12 dossiers: 3 chunks
        assert len(transactions) <= 6, f"{len(transactions)} transactions for 12 dossiers"
    finally:
        kept.close()
