"""collector/stores/postgres_outbox.py keeps its promises on a real PostgreSQL and a real SMTP
server on loopback: the mailer's poll sees a change only while a message waits unclaimed, each
SMTP answer settles a message as the data folder's outbox does (5xx: refused for good, 4xx: waits
again, a lost connection: waits again and ends the round), and migrate-store's copy of the
messages goes only into an empty outbox and is kept only when every message reads back."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest

from collector.mail.delivery import DeliveryReport, MailSettings
from collector.records import build_record
from collector.stores.base import TransferRefused
from collector.stores.outbox import OutgoingMail
from collector.stores.outbox_transfer import CarriedMail
from collector.stores.postgres import PostgresStore
from tests.review.smtp import Inbox, smtp_server
from tests.review.test_outbox_promises import Answering, Hanging, Polite, message, server, settings
from tests.stores.test_histories import allow_connections
from tests.support.net import free_port

RECIPIENT = "porteur@exemple.fr"


@pytest.fixture
def outbox(database_url):
    store = PostgresStore.open_checked(database_url)
    yield store.outbox
    store.close()


def queue(outbox, *names: str, recipient: str = RECIPIENT) -> None:
    for name in names:
        assert outbox.queue(name, message(name), recipient) is True


def states(outbox) -> dict[str, str]:
    return {item.name: item.state for item in outbox.messages()}


def test_the_mailers_poll_sees_a_change_only_while_a_message_waits_unclaimed(outbox):
    watch = outbox.watch()
    assert watch.changed() is False
    queue(outbox, "AMI-2021-0001.accuse.eml")
    assert watch.changed() is True
    [(name, _raw)] = outbox.claim(1)
    assert watch.changed() is False
    outbox.give_back(name)
    assert watch.changed() is True
    outbox.claim(1)
    outbox.mark_sent(name)
    assert watch.changed() is False


def test_the_poll_of_a_database_out_of_reach_sees_no_change_and_raises_nothing():
    store = PostgresStore(f"postgresql://ami_test:x@127.0.0.1:{free_port()}/ami", timeout=0.5)
    store.pool.open(wait=False)
    try:
        assert store.outbox.watch().changed() is False
    finally:
        store.close()


def test_a_database_out_of_reach_is_reported_in_french_and_nothing_is_sent():
    store = PostgresStore(f"postgresql://ami_test:x@127.0.0.1:{free_port()}/ami", timeout=0.5)
    store.pool.open(wait=False)
    try:
        assert store.outbox.deliver(settings(free_port())) == DeliveryReport(error="base PostgreSQL injoignable")
    finally:
        store.close()


class LosingTheDatabase(Inbox):
    """A server during whose first message the database closes its connections and refuses new ones."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.database_url = database_url

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        allow_connections(self.database_url, False)
        return await super().handle_DATA(server, session, envelope)


def test_a_database_lost_during_a_round_ends_it_with_a_french_report(database_url):
    store = PostgresStore.open_checked(database_url, timeout=1.0)
    try:
        queue(store.outbox, "AMI-2021-0001.accuse.eml")
        with server(LosingTheDatabase(database_url)) as port:
            report = store.outbox.deliver(settings(port))
    finally:
        allow_connections(database_url, True)
        store.close()
    # the server accepted it: it counts as sent, and is marked so at the next round (test_sent_not_settled.py)
    assert report == DeliveryReport(sent=["AMI-2021-0001.accuse.eml"], error="base PostgreSQL injoignable")


def test_an_smtp_server_out_of_reach_defers_every_waiting_message_and_names_the_error(outbox):
    queue(outbox, "AMI-2021-0001.accuse.eml")
    assert outbox.deliver(settings(free_port())) == DeliveryReport(
        deferred=["AMI-2021-0001.accuse.eml"], error="serveur SMTP injoignable (ConnectionRefusedError)")
    assert outbox.pending_count() == 1


def test_the_sender_ends_its_session_with_quit(outbox):
    queue(outbox, "AMI-2021-0001.accuse.eml")
    handler = Polite()
    with server(handler) as port:
        assert outbox.deliver(settings(port)).sent == ["AMI-2021-0001.accuse.eml"]
    assert handler.quits == 1


def test_an_empty_outbox_does_not_even_reach_for_the_smtp_server(outbox):
    assert outbox.deliver(settings(free_port())) == DeliveryReport()  # nothing listens there: no error either


def test_a_record_already_stored_is_not_written_again_nor_are_its_mails_queued(outbox):
    record = build_record("AMI-2021-0001", datetime(2021, 4, 15, 10, tzinfo=timezone.utc), 3, {"projet_titre": "Titre"})

    def mails(name: str):
        return lambda: [OutgoingMail(name, RECIPIENT, message(name))]

    assert outbox.write_record(record, mails("AMI-2021-0001.accuse.eml")) is True
    assert outbox.write_record(record, mails("AMI-2021-0001.autre.eml")) is False
    assert outbox.known_names() == {"AMI-2021-0001.accuse.eml"}


def test_without_an_smtp_server_nothing_moves_not_even_a_stale_claim(outbox):
    queue(outbox, "AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml")
    outbox.for_sender("/srv/autre-hote").claim(1)
    report = outbox.deliver(MailSettings(host=""), stale_after=0)
    assert report == DeliveryReport(deferred=["AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml"],
                                    error="aucun serveur SMTP configuré (COLLECTOR_SMTP_HOST)")
    assert outbox.pending_count() == 1  # the claim stays, however old


def test_a_stale_claim_is_sent_by_the_next_delivery(outbox):
    queue(outbox, "AMI-2021-0001.accuse.eml")
    outbox.for_sender("/srv/hote-arrete").claim(1)
    with smtp_server() as inbox:
        report = outbox.deliver(settings(inbox.port), stale_after=0)
    assert report == DeliveryReport(sent=["AMI-2021-0001.accuse.eml"])


def test_a_round_sets_a_5xx_aside_for_good_puts_a_4xx_back_and_sends_the_rest(outbox):
    queue(outbox, "AMI-2021-0001.accuse.eml", recipient="refuse@exemple.fr")
    queue(outbox, "AMI-2021-0002.accuse.eml", recipient="plus-tard@exemple.fr")
    queue(outbox, "AMI-2021-0003.accuse.eml")
    handler = Answering(rcpt={"refuse@exemple.fr": "550 Utilisateur inconnu",
                              "plus-tard@exemple.fr": "451 Réessayez plus tard"})
    with server(handler) as port:
        report = outbox.deliver(settings(port))
    assert (report.sent, report.failed, report.deferred, report.error) == (
        ["AMI-2021-0003.accuse.eml"], ["AMI-2021-0001.accuse.eml"], ["AMI-2021-0002.accuse.eml"], "")
    assert states(outbox) == {"AMI-2021-0001.accuse.eml": "failed", "AMI-2021-0002.accuse.eml": "waiting",
                              "AMI-2021-0003.accuse.eml": "sent"}
    assert outbox.pending_count() == 1  # the deferred one waits again, unclaimed
    assert [item.recipients for item in handler.messages] == [[RECIPIENT]]


def test_a_connection_lost_while_sending_puts_the_message_back_and_ends_the_round(outbox):
    queue(outbox, "AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml")
    with server(Hanging()) as port:
        report = outbox.deliver(settings(port))
    assert (report.sent, report.failed, report.deferred) == ([], [], ["AMI-2021-0001.accuse.eml"])
    assert report.error == "envoi interrompu (SMTPServerDisconnected)"
    assert outbox.pending_count() == 2  # both wait, unclaimed: the second was never tried


class ClaimingMeanwhile(Inbox):
    """A server during whose first message another host's mailer claims what waits."""

    def __init__(self, other_outbox) -> None:
        super().__init__()
        self.other_outbox, self.taken = other_outbox, None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.taken is None:
            self.taken = [name for name, _raw in self.other_outbox.claim(10)]
        return await super().handle_DATA(server, session, envelope)


def test_a_message_another_hosts_mailer_claims_during_the_round_is_left_to_it(outbox, database_url):
    queue(outbox, "AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml")
    other = PostgresStore.open_checked(database_url)
    try:
        handler = ClaimingMeanwhile(other.outbox.for_sender("/srv/autre-hote"))
        with server(handler) as port:
            report = outbox.deliver(settings(port))
    finally:
        other.close()
    assert handler.taken == ["AMI-2021-0002.accuse.eml"]
    assert report == DeliveryReport(sent=["AMI-2021-0001.accuse.eml"])


def carried(*names: str) -> list[CarriedMail]:
    return [CarriedMail(name, RECIPIENT, b"X-AMI-Envelope-To: porteur@exemple.fr\r\n\r\n", "waiting") for name in names]


def test_a_copy_into_an_outbox_that_holds_messages_is_refused_in_french(outbox, database_url):
    queue(outbox, "AMI-2021-0009.accuse.eml")
    with psycopg.connect(database_url) as connection, pytest.raises(TransferRefused, match="contient déjà 1 e-mail"):
        outbox.load(connection, carried("AMI-2021-0001.accuse.eml"))


@pytest.mark.parametrize("garbling", [
    "IF NEW.name LIKE 'AMI-2021-0002%' THEN RETURN NULL; END IF; RETURN NEW;",  # one message lost
    "IF NEW.name LIKE 'AMI-2021-0002%' THEN INSERT INTO outbox (name, reference, recipient, raw) "
    "VALUES ('AMI-2021-0003.copie.eml', 'AMI-2021-0003', NEW.recipient, NEW.raw); END IF; RETURN NEW;",  # one more
])
def test_a_copy_of_the_messages_that_does_not_read_back_is_refused_in_french(outbox, database_url, garbling):
    with psycopg.connect(database_url) as connection:
        connection.execute(f"CREATE FUNCTION garble() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {garbling} END $$;"
                           "CREATE TRIGGER garble BEFORE INSERT ON outbox FOR EACH ROW WHEN (pg_trigger_depth() = 0) "
                           "EXECUTE FUNCTION garble()")
        with pytest.raises(TransferRefused, match="ne correspond pas au dossier de données"), connection.transaction():
            outbox.load(connection, carried("AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml"))
        outbox.load(connection, carried("AMI-2021-0001.accuse.eml"))  # one message, read back: kept


def test_a_copy_of_hundreds_of_messages_that_reads_back_is_kept(outbox, database_url):
    names = [f"AMI-2021-{number:04d}.accuse.eml" for number in range(1, 301)]  # past CPython's cached integers
    with psycopg.connect(database_url) as connection:
        outbox.load(connection, carried(*names))
    assert outbox.pending_count() == 300


def test_two_rounds_given_kept_connections_go_through_one_smtp_session(outbox):
    from aiosmtpd.controller import Controller

    from collector.mail.delivery import KeptConnections
    from tests.review.test_mail_connections import CountsSessions

    inbox = CountsSessions()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    connections = KeptConnections()
    try:
        queue(outbox, "AMI-2021-0001.accuse.eml")
        assert outbox.deliver(settings(controller.port), connections=connections).sent == ["AMI-2021-0001.accuse.eml"]
        queue(outbox, "AMI-2021-0002.accuse.eml")
        assert outbox.deliver(settings(controller.port), connections=connections).sent == ["AMI-2021-0002.accuse.eml"]
        connections.close()
        inbox.wait_for(2)
    finally:
        controller.stop()
    assert inbox.sessions == 1
