"""The porteur mail caps (collector/porteur/mail_caps.py) keep their promises beyond the pages:
the refusal says in whole hours how long to wait, each cap counts over a day in its own file
under a keyed hash (never an address), a dossier's contact changes and an address's mails are
counted apart, the Région's own mails are never counted nor held back, a mail the outbox cannot
hold back goes rather than being lost, and the logs name a dossier and a kind, never an address."""

from __future__ import annotations

import logging
import os
import sqlite3
import time

import pytest

from collector.mail import delivery
from collector.porteur import mail_caps
from collector.porteur.mail_caps import (CONTACT_CHANGES_PER_DAY, MAILS_PER_ADDRESS_PER_DAY, contact_change_wait,
                                         first_acknowledgement_held_back, recipient_allowed, too_many_contact_changes,
                                         within_caps)
from collector.mail.lifecycle import Mail
from collector.statuses import store_of

SECRET = "clé des plafonds"
VICTIM = "victime@example.net"
STAFF = "ami@region.example"


def cap_file(data_dir: str, name: str) -> str:
    return os.path.join(data_dir, "state", f"ratelimit-{name}.sqlite3")


def rows(data_dir: str, name: str) -> list[tuple[str, int, int]]:
    with sqlite3.connect(cap_file(data_dir, name)) as connection:
        return connection.execute("SELECT client, window, count FROM hits ORDER BY client").fetchall()


def changes(number: int) -> dict[str, str]:
    return {"contact_email": f"nouvelle{number}@example.org"}


def mails(*recipients: str) -> list[Mail]:
    return [Mail(f"envoi{number}", None, recipient) for number, recipient in enumerate(recipients)]


@pytest.fixture
def dossier(data_dir) -> str:
    """AMI-2021-0001 stored: a dossier's mails are held back only while it has its record."""
    from collector.formdef import load_form
    from tests.review.factory import make_record

    assert store_of(data_dir).write_record(make_record(load_form(), 1))
    return "AMI-2021-0001"


@pytest.fixture
def fsync_fails(monkeypatch):
    def failing(_descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)


def test_the_caps_are_two_contact_changes_per_dossier_and_five_mails_per_address_over_24_hours(data_dir):
    assert (CONTACT_CHANGES_PER_DAY, MAILS_PER_ADDRESS_PER_DAY) == (2, 5)
    assert mail_caps._daily_cap(data_dir, SECRET, "courriels-adresse", MAILS_PER_ADDRESS_PER_DAY).window == 24 * 3600


@pytest.mark.parametrize("wait, hours", [(1, 1), (3600, 1), (5399, 1), (5401, 2), (7200, 2), (86400, 24)])
def test_the_refusal_says_in_whole_hours_how_long_to_wait_and_never_less_than_one(wait, hours):
    text = too_many_contact_changes(wait)
    assert f"changez-la dans environ {hours} heure(s) ;" in text
    assert "a déjà été changée 2 fois au cours des dernières 24 heures" in text
    assert mail_caps.FIELD_MESSAGE.endswith("elle a déjà été changée 2 fois au cours des dernières 24 heures.")


def test_a_dossier_changes_its_contact_twice_a_day_and_keeping_the_mailbox_never_counts(data_dir, caplog):
    caplog.set_level(logging.INFO, "collector.porteur.mail_caps")
    stored = {"contact_email": "Contact@Example.org"}
    today = int(time.time() // 86400)
    assert [contact_change_wait(data_dir, SECRET, "AMI-2021-0001", stored, changes(n)) for n in (1, 2)] == [None] * 2
    assert contact_change_wait(data_dir, SECRET, "AMI-2021-0001", stored, {"contact_email": "Contact@EXAMPLE.ORG"}) \
        is None, "the same mailbox is no change"
    wait = contact_change_wait(data_dir, SECRET, "AMI-2021-0001", stored, changes(3))
    assert wait is not None and 86400 * 2 // 3 <= wait <= 86400 * 5 // 3 + 1  # count 3 of 2, within the day
    assert contact_change_wait(data_dir, SECRET, "AMI-2021-0002", stored, changes(1)) is None, "per dossier"
    assert caplog.messages == ["correction of AMI-2021-0001 refused: contact changed 2 times within a day"]
    counted = sorted(rows(data_dir, "changements-contact"), key=lambda row: -row[2])
    assert [count for _key, _day, count in counted] == [3, 1]
    assert counted[0][1] in (today, int(time.time() // 86400)), "counted by the day"
    assert "AMI-2021-0001" not in str(rows(data_dir, "changements-contact")), "a keyed hash, not the reference"


def test_an_address_gets_five_porteur_mails_a_day_look_alikes_together_and_never_in_clear(data_dir):
    today = int(time.time() // 86400)
    assert [recipient_allowed(data_dir, SECRET, address) for address in
            (VICTIM, "VICTIME@example.net", VICTIM, " Victime@Example.Net", VICTIM)] == [True] * 5
    assert recipient_allowed(data_dir, SECRET, VICTIM) is False
    assert recipient_allowed(data_dir, SECRET, "autre@example.net") is True
    counted = sorted(rows(data_dir, "courriels-adresse"), key=lambda row: -row[2])
    assert [count for _key, _day, count in counted] == [6, 1]
    assert counted[0][1] in (today, int(time.time() // 86400)), "counted by the day"
    for suffix in ("", "-wal"):  # the database and its write-ahead log
        with open(cap_file(data_dir, "courriels-adresse") + suffix, "rb") as handle:
            assert b"victime" not in handle.read().lower()
    assert not os.path.exists(cap_file(data_dir, "changements-contact")), "each cap counts apart"


def test_a_first_acknowledgement_within_the_cap_is_counted_and_not_held_back(data_dir):
    store = store_of(data_dir)
    assert first_acknowledgement_held_back(store, SECRET, "AMI-2021-0001", VICTIM) is False
    assert store.outbox.known_names() == set()
    assert [count for _key, _day, count in rows(data_dir, "courriels-adresse")] == [1]


def test_a_first_acknowledgement_past_the_cap_is_held_back_for_good_and_logged_without_the_address(data_dir, caplog):
    caplog.set_level(logging.INFO, "collector.porteur.mail_caps")
    store = store_of(data_dir)
    for _ in range(MAILS_PER_ADDRESS_PER_DAY):
        recipient_allowed(data_dir, SECRET, VICTIM)
    assert first_acknowledgement_held_back(store, SECRET, "AMI-2021-0006", VICTIM) is True
    assert store.outbox.is_held_back("AMI-2021-0006.accuse.eml") is True
    assert caplog.messages == ["mail: accuse of AMI-2021-0006 not queued: its recipient had 5 mails of porteur "
                               "actions within a day"]
    assert "victime" not in caplog.text


def test_a_first_acknowledgement_that_cannot_be_held_back_goes(data_dir, caplog, fsync_fails):
    store = store_of(data_dir)
    for _ in range(MAILS_PER_ADDRESS_PER_DAY):
        recipient_allowed(data_dir, SECRET, VICTIM)
    assert first_acknowledgement_held_back(store, SECRET, "AMI-2021-0006", VICTIM) is False
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.ERROR, "mail: the acknowledgement of AMI-2021-0006 could not be held back (OSError): it goes")]


def test_mails_past_the_cap_are_held_back_in_order_and_the_regions_own_are_never_counted(data_dir, dossier, caplog):
    caplog.set_level(logging.INFO, "collector.porteur.mail_caps")
    victim = "adele@example.net"  # sorts before the Région's address: only the same address is the Région's
    batch = mails(STAFF, *[victim] * 4, STAFF, victim, victim, "autre@example.net", STAFF)
    staff = "@".join(["ami", "region.example"])  # equal to the mails' address, not the same object
    kept = within_caps(data_dir, SECRET, "AMI-2021-0001", batch, staff)
    assert [item.kind for item in kept] == ["envoi0", "envoi1", "envoi2", "envoi3", "envoi4", "envoi5", "envoi6",
                                            "envoi8", "envoi9"]
    outbox = store_of(data_dir).outbox
    assert outbox.known_names() == {"AMI-2021-0001.envoi7.eml"} and outbox.is_held_back("AMI-2021-0001.envoi7.eml")
    assert sorted(count for _key, _day, count in rows(data_dir, "courriels-adresse")) == [1, 6], "staff not counted"
    assert caplog.messages == ["mail: envoi7 of AMI-2021-0001 not queued: its recipient had 5 mails of porteur "
                               "actions within a day"]


def test_mails_that_cannot_be_held_back_go_and_each_failure_is_logged(data_dir, dossier, caplog, fsync_fails):
    batch = mails(*[VICTIM] * 7, STAFF)
    kept = within_caps(data_dir, SECRET, "AMI-2021-0001", batch, STAFF)
    assert [item.kind for item in kept] == [f"envoi{number}" for number in range(8)]
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.ERROR, f"mail: envoi{number} of AMI-2021-0001 could not be held back (OSError): it goes")
        for number in (5, 6)]
    assert delivery.message_name("AMI-2021-0001", "envoi5") == "AMI-2021-0001.envoi5.eml"
