"""What `purge` and `purge --reference` (an erasure request) leave behind, on both stores: no
lost-link request waiting for a purged dossier's contact address (personal data the privacy
page says is gone), unless another dossier still has that address as its contact; an erasure
finds a dossier in the store itself, even one this host's review index cannot list."""

from __future__ import annotations

import os

import psycopg

from collector import idempotency
from collector.records import record_path, serialise_record
from tests.review.factory import make_record

from .test_purge import (GONE, ON_THE_DATA_FOLDER, OLD, PURGED, TODAY, YOUNG, holdings, kept,  # noqa: F401
                         make_host, store_kind, two_dossiers)

OLD_CONTACT, YOUNG_CONTACT = "contact1@exemple.fr", "contact2@exemple.fr"


def test_a_purge_forgets_the_lost_link_requests_waiting_for_the_purged_dossiers_contact(kept, make_host,
                                                                                      two_dossiers):
    typed = kept.link_requests.write("Contact1@exemple.fr")  # the old dossier's contact, its ASCII case aside
    young = kept.link_requests.write(YOUNG_CONTACT)
    stranger = kept.link_requests.write("personne@exemple.fr")
    assert typed and young and stranger
    result = make_host().test_cli_runner().invoke(args=["purge", "--today", TODAY])
    assert result.exit_code == 0, result.output
    assert result.stdout == PURGED
    assert sorted(kept.link_requests.waiting()) == sorted([young, stranger])


def test_an_erasure_forgets_the_requests_for_every_contact_the_dossier_ever_had(kept, make_host, two_dossiers):
    """A correction changed the contact: a request for the previous address is that dossier's too."""
    record = make_record(make_host().config["FORM"], 2)
    moved = {**record, "answers": {**record["answers"], "contact_email": "nouvelle@exemple.fr"},
             "corrected_at": "2021-04-21T10:00:00+02:00"}
    kept.versions.write(YOUNG, 3, serialise_record(moved))
    previous, newest = kept.link_requests.write(YOUNG_CONTACT), kept.link_requests.write("nouvelle@exemple.fr")
    other = kept.link_requests.write(OLD_CONTACT)
    result = make_host().test_cli_runner().invoke(args=["purge", "--reference", YOUNG])
    assert result.exit_code == 0, result.output
    assert holdings(kept, YOUNG) == GONE
    assert kept.link_requests.waiting() == [other], (previous, newest)


def test_a_request_for_an_address_another_dossier_still_has_stays_for_that_dossier(kept, make_host, two_dossiers):
    record = make_record(make_host().config["FORM"], 2)
    kept.versions.write(YOUNG, 3, serialise_record({**record, "answers": {**record["answers"],
                                                                          "contact_email": OLD_CONTACT}}))
    shared = kept.link_requests.write(OLD_CONTACT)
    result = make_host().test_cli_runner().invoke(args=["purge", "--reference", OLD])
    assert result.exit_code == 0, result.output
    assert kept.link_requests.waiting() == [shared], "its porteur still waits for the young dossier's link"
    assert kept.link_requests.contacts(OLD_CONTACT) == {OLD_CONTACT: [YOUNG]}


def break_record(store_kind: str, data_dir: str, request, reference: str) -> None:
    """Make a dossier's record unreadable where the store keeps it (a hand edit gone wrong)."""
    if store_kind == "postgres":
        with psycopg.connect(request.getfixturevalue("database_url")) as connection:
            connection.execute("UPDATE records SET document = 'reference: [' WHERE reference = %s", (reference,))
        return
    with open(record_path(data_dir, reference), "w", encoding="utf-8") as handle:
        handle.write("reference: [")


def test_an_erasure_finds_the_named_dossier_in_the_store_even_one_the_index_cannot_list(
        kept, make_host, two_dossiers, store_kind, data_dir, request):
    break_record(store_kind, data_dir, request, YOUNG)
    runner = make_host().test_cli_runner()
    dry = runner.invoke(args=["purge", "--reference", YOUNG, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == ("AMI-2021-0002 (date de réception illisible) serait supprimée, avec son historique et "
                          "ses e-mails.\n1 candidature(s) nommée(s) à supprimer (simulation : rien n'a été "
                          "supprimé).\n")
    erased = runner.invoke(args=["purge", "--reference", YOUNG])
    assert erased.exit_code == 0, erased.output
    assert "1 candidature(s) nommée(s) supprimée(s) à la demande." in erased.stdout
    assert holdings(kept, YOUNG) == GONE
    assert all(holdings(kept, OLD).values()), "the other dossier is untouched"


def test_an_erasure_naming_no_dossier_says_so_in_french_and_deletes_nothing(kept, make_host, two_dossiers):
    before = {reference: holdings(kept, reference) for reference in two_dossiers}
    result = make_host().test_cli_runner().invoke(args=["purge", "--reference", "../submissions/AMI-2021-0001"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == ("Erreur : aucune candidature ne porte la référence « ../submissions/AMI-2021-0001 » : "
                             "rien n'a été supprimé. Vérifiez la référence (« flask --app collector list »).\n")
    assert {reference: holdings(kept, reference) for reference in two_dossiers} == before


@ON_THE_DATA_FOLDER
def test_on_the_data_folder_an_older_corrections_id_naming_ref_v_n_goes_with_its_dossier(kept, make_host,
                                                                                       two_dossiers, data_dir):
    """Correction ids were once linked to `<REF>-V<N>` (idempotency.dossier_of): theirs too."""
    os.symlink(f"{OLD}-V2", os.path.join(data_dir, idempotency.IDS_DIR, "ancienneCorrection123"))
    os.symlink(f"{YOUNG}-V2", os.path.join(data_dir, idempotency.IDS_DIR, "autreCorrection456"))
    result = make_host().test_cli_runner().invoke(args=["purge", "--today", TODAY])
    assert result.stdout == PURGED
    assert sorted(os.listdir(os.path.join(data_dir, idempotency.IDS_DIR))) == ["autreCorrection456", "envoi-2"]


def test_a_lost_link_looked_up_before_a_purge_mails_only_the_dossiers_still_kept(kept, make_host, two_dossiers):
    """The mailer found both dossiers of the address, then one was erased before its mail was
    queued: the mail names the other one only, and nothing is named after the erased one."""
    from collector import appstate, link_requests
    from collector.mail import lifecycle

    app = make_host()
    record = make_record(app.config["FORM"], 2)
    kept.versions.write(YOUNG, 3, serialise_record({**record, "answers": {**record["answers"],
                                                                          "contact_email": OLD_CONTACT}}))
    request_id = "f" * 32
    assert kept.link_requests.contacts(OLD_CONTACT) == {OLD_CONTACT: [OLD, YOUNG]}  # the mailer's look-up
    assert list(kept.retention.forget([OLD])) == [OLD]  # the erasure, before the mail is queued
    with app.app_context():
        assert link_requests._queue_links(appstate.store(app), request_id, OLD_CONTACT, [OLD, YOUNG],
                                          app.config["FACTS"], lifecycle.settings())
    mails = [mail for mail in kept.outbox.messages() if f".lien-{request_id}." in mail.name]
    assert [mail.name for mail in mails] == [f"{YOUNG}.lien-{request_id}.eml"]
    assert YOUNG.encode() in mails[0].raw and OLD.encode() not in mails[0].raw
