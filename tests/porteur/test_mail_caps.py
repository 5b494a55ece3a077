"""A dossier's link cannot turn the Région's sender into a relay: contact changes and porteur mails are capped.

At most two contact changes per dossier within a day (the next correction changing it is
refused, 429, answers kept, nothing stored), and at most five mails of porteur actions per
recipient within a day, every kind together (the next is not queued, its event stays).
On both stores: the caps count in the store's shared limiter (on PostgreSQL, every host's).
"""

from __future__ import annotations

import glob
import logging
import os

import pytest

from collector import porteur_mail
from collector.dossier import latest_record
from collector.mail_catch_up import catch_up
from collector.porteur.mail_caps import MAILS_PER_ADDRESS_PER_DAY
from tests.conftest import STORE_KINDS

from .conftest import outbox, review_post
from .test_corrections import corrected, outbox_message, send_correction
from .test_lost_link import ON_THE_DATA_FOLDER, PAGE, handle_waiting


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param

VICTIM = "victime@example.net"


def mails_to(where, address):
    return [name for name in outbox(where) if outbox_message(where, name)[0] == f"X-AMI-Envelope-To: {address}"]


def test_a_third_contact_change_within_a_day_is_refused_with_the_answers_kept_and_nothing_stored(client, records,
                                                                                                  kept):
    for number in (1, 2):
        assert send_correction(client, corrected(records[0], contact_email=f"nouvelle{number}@example.org")).status_code == 303
    before = sorted(outbox(kept))
    refused = send_correction(client, corrected(records[0], contact_email="troisieme@example.org",
                                                projet_titre="Un titre à ne pas perdre"))
    assert refused.status_code == 429
    assert "déjà été changée 2 fois aujourd&#39;hui" in refused.text and "Rien n&#39;a été enregistré" in refused.text
    assert 'value="troisieme@example.org"' in refused.text and 'value="Un titre à ne pas perdre"' in refused.text
    assert latest_record(kept, "AMI-2021-0001")["version"] == 3
    assert latest_record(kept, "AMI-2021-0001")["answers"]["contact_email"] == "nouvelle2@example.org"
    assert sorted(outbox(kept)) == before, "nothing queued"


def test_corrections_keeping_the_contact_and_other_dossiers_are_not_held_back(client, records, kept):
    for number in (1, 2):
        send_correction(client, corrected(records[0], contact_email=f"nouvelle{number}@example.org"))
    kept_contact = send_correction(client, corrected(records[0], contact_email="nouvelle2@EXAMPLE.ORG",
                                                     projet_titre="Autre"))
    assert kept_contact.status_code == 303 and latest_record(kept, "AMI-2021-0001")["version"] == 4
    other = send_correction(client, corrected(records[1], contact_email="ailleurs@example.org"), "AMI-2021-0002")
    assert other.status_code == 303


def test_corrections_cannot_relay_a_text_to_address_after_address(client, records, kept):
    replies = [send_correction(client, corrected(records[0], contact_email=f"victime{n}@example.net",
                                                 description=f"Cliquez ici https://phishing.example/{n} pour …"))
               .status_code for n in range(6)]
    assert replies == [303, 303] + [429] * 4
    acknowledged = [name for name in outbox(kept) if ".accuse-v" in name]
    assert [outbox_message(kept, name)[0] for name in acknowledged] == [
        "X-AMI-Envelope-To: victime0@example.net", "X-AMI-Envelope-To: victime1@example.net"]


def test_an_address_gets_at_most_five_mails_of_porteur_actions_a_day_every_kind_together(
        app, client, records, kept, data_dir, caplog):
    caplog.set_level(logging.INFO)
    for record in records:  # three acknowledgements to the victim, each dossier's first change
        assert send_correction(client, corrected(record, contact_email=VICTIM), record["reference"]).status_code == 303
    for title in ("Titre 2", "Titre 3"):  # two more: five
        send_correction(client, corrected(records[0], contact_email=VICTIM, projet_titre=title))
    assert len(mails_to(kept, VICTIM)) == MAILS_PER_ADDRESS_PER_DAY
    sixth = send_correction(client, corrected(records[1], contact_email=VICTIM, projet_titre="Titre 2"),
                            "AMI-2021-0002")
    assert sixth.status_code == 303 and latest_record(kept, "AMI-2021-0002")["version"] == 3, "still stored"
    assert "AMI-2021-0002.accuse-v3.eml" not in outbox(kept)
    assert "AMI-2021-0002.correction-v3.eml" in outbox(kept), "the Région is still told"
    assert client.post(PAGE, data={"contact_email": VICTIM}).status_code == 200
    assert handle_waiting(app, kept) == 0, "a lost link counts too"
    with app.app_context():
        catch_up(data_dir, app.config["FACTS"], app.config["FORM"], porteur_mail.settings())
    assert len(mails_to(kept, VICTIM)) == MAILS_PER_ADDRESS_PER_DAY, "the catch-up never sends a held mail"
    assert "accuse-v3 of AMI-2021-0002 not queued" in caplog.text
    assert VICTIM not in caplog.text, "no address in the logs"
    assert_no_address_in_the_counts(kept, b"victime")


def assert_no_address_in_the_counts(kept, text: bytes) -> None:
    """The caps' counts hold keyed hashes, never an address: in the data folder's files or in PostgreSQL."""
    if kept.kind == "postgresql":
        with kept._connection() as connection:
            rows = connection.execute("SELECT limiter, client FROM rate_hits").fetchall()
        assert rows and not [row for row in rows if text.decode() in row[1]]
        return
    for path in glob.glob(os.path.join(kept.data_dir, "state", "ratelimit-*")):
        with open(path, "rb") as handle:
            assert text not in handle.read(), f"no address in clear in {path}"


@ON_THE_DATA_FOLDER
def test_the_regions_own_mails_are_never_held_back(reviewer, client, records, data_dir):
    for title in ("A", "B", "C", "D", "E", "F"):
        send_correction(client, corrected(records[0], projet_titre=title))
    address = records[0]["answers"]["contact_email"]
    assert len(mails_to(data_dir, address)) == MAILS_PER_ADDRESS_PER_DAY
    assert review_post(reviewer, "AMI-2021-0001", "message", message="Pouvez-vous préciser ?").status_code == 303
    assert [name for name in mails_to(data_dir, address) if ".message-" in name], "queued, over the cap"


@ON_THE_DATA_FOLDER
def test_on_the_data_folder_the_limits_keep_their_files_so_a_running_server_keeps_its_counts(app, client, records,
                                                                                             data_dir):
    assert send_correction(client, corrected(records[0], contact_email=VICTIM)).status_code == 303
    assert client.post(PAGE, data={"contact_email": VICTIM}).status_code == 200
    handle_waiting(app, data_dir)
    assert sorted(name for name in os.listdir(os.path.join(data_dir, "state")) if name.startswith("ratelimit-") and name.endswith(".sqlite3")) == [
        "ratelimit-changements-contact.sqlite3", "ratelimit-courriels-adresse.sqlite3",
        "ratelimit-lien-adresse.sqlite3", "ratelimit-lien-client.sqlite3"]
