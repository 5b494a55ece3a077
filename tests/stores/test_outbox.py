"""The outbox's promises (`store.outbox`), on both stores: a name is queued once and remembered
for ever, a message is claimed by one sender only, a dead sender's claim comes back, delivery
sends each message once to its envelope's recipient; and, on PostgreSQL, a record and its two
mails are one transaction."""

from __future__ import annotations

import threading
from email.message import EmailMessage

import psycopg
import pytest

from collector.mail.delivery import MailSettings
from collector.stores.folder import FolderStore
from tests.conftest import STORE_KINDS
from tests.review.smtp import smtp_server

ON_POSTGRESQL = pytest.mark.parametrize("store_kind", ["postgres"])


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def store(store_kind, data_dir, request):
    if store_kind == "folder":
        yield FolderStore(data_dir)
        return
    from collector.stores.postgres import PostgresStore

    opened = PostgresStore.open_checked(request.getfixturevalue("database_url"))
    yield opened
    opened.close()


def message(subject: str) -> EmailMessage:
    composed = EmailMessage()
    composed["Subject"], composed["From"], composed["To"] = subject, "ami@example.org", "porteur@example.org"
    composed.set_content(f"Corps de « {subject} »\n")
    return composed


def queue(outbox, *names: str) -> None:
    for name in names:
        assert outbox.queue(name, message(name), "porteur@example.org") is True


def test_a_name_is_queued_once_and_stays_known_after_its_message_was_sent(store):
    outbox = store.outbox
    queue(outbox, "AMI-2021-0001.accuse.eml")
    assert outbox.queue("AMI-2021-0001.accuse.eml", message("encore"), "autre@example.org") is False
    assert outbox.pending_count() == 1
    [(name, raw)] = outbox.claim(5)
    assert name == "AMI-2021-0001.accuse.eml"
    assert raw.startswith(b"X-AMI-Envelope-To: porteur@example.org\r\n") and b"AMI-2021-0001" in raw
    outbox.mark_sent(name)
    assert outbox.pending_count() == 0 and outbox.claim(5) == []
    assert outbox.known_names() == {name}
    assert outbox.queue(name, message("rejoué"), "porteur@example.org") is False  # never sent again


def test_a_waiting_message_is_claimed_by_one_sender_only(store, tmp_path):
    queue(store.outbox, *(f"AMI-2021-000{n}.accuse.eml" for n in range(1, 5)))
    first, second = store.outbox.for_sender(str(tmp_path / "a")), store.outbox.for_sender(str(tmp_path / "b"))
    taken = [name for name, _raw in first.claim(3)]
    assert len(taken) == 3
    rest = [name for name, _raw in second.claim(10)]
    assert len(rest) == 1 and rest[0] not in taken
    assert first.claim(10) == [] and store.outbox.pending_count() == 0


def test_a_claim_comes_back_once_older_than_the_limit_and_a_refused_message_never_does(store):
    queue(store.outbox, "AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml")
    [(claimed, _raw), (refused, _)] = store.outbox.claim(2)
    store.outbox.mark_failed(refused)
    assert store.outbox.release_stale_claims(older_than=3600) == []
    assert store.outbox.release_stale_claims(older_than=0) == [claimed]
    assert [name for name, _raw in store.outbox.claim(5)] == [claimed]
    assert store.outbox.known_names() == {claimed, refused}


def test_a_message_given_back_waits_again(store):
    queue(store.outbox, "AMI-2021-0001.accuse.eml")
    [(name, _raw)] = store.outbox.claim(1)
    store.outbox.give_back(name)
    assert store.outbox.pending_count() == 1 and [claimed for claimed, _ in store.outbox.claim(1)] == [name]


def test_a_name_held_back_is_remembered_and_never_queued_claimed_or_sent(store):
    """The porteur mail caps hold a mail back for good (porteur/mail_caps.py), on both stores."""
    outbox = store.outbox
    assert outbox.hold_back("AMI-2021-0001.accuse.eml") is True
    assert outbox.hold_back("AMI-2021-0001.accuse.eml") is True, "holding a known name back again changes nothing"
    assert "AMI-2021-0001.accuse.eml" in outbox.known_names()
    assert outbox.queue("AMI-2021-0001.accuse.eml", message("retenu"), "porteur@example.org") is False
    assert outbox.pending_count() == 0 and outbox.claim(5) == []
    [carried] = [item for item in outbox.messages() if item.name == "AMI-2021-0001.accuse.eml"]
    assert (carried.raw, carried.recipient) == (b"", ""), "no message and no address kept"
    with smtp_server() as inbox:
        report = outbox.deliver(MailSettings(host="127.0.0.1", port=inbox.port, mail_from="ami@example.org"))
    assert report.sent == [] and inbox.messages == []


def test_an_outbox_tells_a_name_held_back_from_a_message_queued_whatever_became_of_it(store):
    """The intake asks it when a dossier is posted again, to say again that no acknowledgement comes."""
    outbox = store.outbox
    assert outbox.hold_back("AMI-2021-0001.accuse.eml") is True
    assert outbox.is_held_back("AMI-2021-0001.accuse.eml") is True
    queue(outbox, *(f"AMI-2021-000{number}.accuse.eml" for number in range(2, 6)))
    [(claimed, _raw), (sent, _), (refused, _)] = outbox.claim(3)
    outbox.mark_sent(sent)
    outbox.mark_failed(refused)
    for name in (claimed, sent, refused, "AMI-2021-0005.accuse.eml", "AMI-2021-0009.accuse.eml"):
        assert outbox.is_held_back(name) is False, name


def test_forgetting_a_dossier_removes_its_messages_and_their_memory_only(store):
    queue(store.outbox, "AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml", "AMI-2021-0002.accuse.eml")
    [(name, _raw)] = store.outbox.claim(1)
    store.outbox.mark_sent(name)
    assert len(store.outbox.forget("AMI-2021-0001")) >= 2
    assert store.outbox.known_names() == {"AMI-2021-0002.accuse.eml"}
    assert store.outbox.queue("AMI-2021-0001.accuse.eml", message("de nouveau"), "porteur@example.org") is True


def test_delivery_sends_each_message_once_to_its_envelope_recipient(store):
    for number, recipient in ((1, "une@example.org"), (2, "deux@example.org")):
        assert store.outbox.queue(f"AMI-2021-000{number}.accuse.eml", message(f"n°{number}"), recipient)
    with smtp_server() as inbox:
        settings = MailSettings(host="127.0.0.1", port=inbox.port)
        report = store.outbox.deliver(settings)
        assert sorted(report.sent) == ["AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml"]
        assert store.outbox.deliver(settings).sent == []
        received = inbox.wait_for(2)
    assert sorted((item.recipients[0], item.message["Subject"]) for item in received) == [
        ("deux@example.org", "n°2"), ("une@example.org", "n°1")]
    assert all("X-AMI-Envelope-To" not in item.message for item in received)
    assert store.outbox.pending_count() == 0


def test_without_an_smtp_server_the_messages_wait_and_the_report_says_why(store):
    queue(store.outbox, "AMI-2021-0001.accuse.eml")
    report = store.outbox.deliver(MailSettings(host=""))
    assert report.deferred == ["AMI-2021-0001.accuse.eml"] and "COLLECTOR_SMTP_HOST" in report.error
    assert store.outbox.pending_count() == 1


@ON_POSTGRESQL
def test_on_postgresql_many_senders_claiming_at_once_never_take_the_same_message(store, tmp_path):
    names = [f"AMI-2021-{n:04d}.accuse.eml" for n in range(1, 121)]
    queue(store.outbox, *names)
    taken: list[list[str]] = [[] for _ in range(6)]
    barrier = threading.Barrier(6)

    def sender(number: int) -> None:
        outbox = store.outbox.for_sender(str(tmp_path / f"hote-{number}"))
        barrier.wait()
        while claimed := outbox.claim(1):
            taken[number] += [name for name, _raw in claimed]

    threads = [threading.Thread(target=sender, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [name for names_of_one in taken for name in names_of_one]
    assert sorted(everything) == names  # each once, none left
    assert sum(1 for names_of_one in taken if names_of_one) > 1  # they did run at once


@ON_POSTGRESQL
def test_on_postgresql_a_hosts_mailer_takes_back_its_own_hosts_claims_at_once_never_another_hosts(store, tmp_path):
    queue(store.outbox, "AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml")
    host_a, host_b = str(tmp_path / "a"), str(tmp_path / "b")
    [(of_a, _)] = store.outbox.for_sender(host_a).claim(1)
    [(of_b, _)] = store.outbox.for_sender(host_b).claim(1)
    assert store.outbox.for_sender(host_a).release_own_claims() == [of_a]
    assert [name for name, _raw in store.outbox.for_sender(host_b).claim(5)] == [of_a]
    assert of_b != of_a


@ON_POSTGRESQL
def test_on_postgresql_the_claim_is_committed_before_the_message_is_handed_out(store, database_url):
    queue(store.outbox, "AMI-2021-0001.accuse.eml")
    [(name, _raw)] = store.outbox.claim(1)
    with psycopg.connect(database_url) as other:  # another host's view: claimed, by a name, at a time
        row = other.execute("SELECT claimed_at IS NOT NULL, claimed_by FROM outbox WHERE name = %s",
                            (name,)).fetchone()
    assert row[0] is True and row[1]
