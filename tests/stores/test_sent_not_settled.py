"""A message the SMTP server accepted while PostgreSQL stopped (so that it could not be marked
sent) is never sent a second time: not by the same mailer's next round, not by the host's next
mailer, however old its claim. A real SMTP server on loopback, a real PostgreSQL stopped and
started; and each mailer process claims under its own identity, so that a host cloned with the
same name and data folder path never takes back another's claims."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from aiosmtpd.controller import Controller

from collector.mail.delivery import MailSettings
from collector.stores.postgres import PostgresStore
from collector.stores.postgres_outbox import PostgresOutbox
from tests.review.smtp import Inbox
from tests.support.net import free_port

from .test_outbox import message

NAME = "AMI-2021-0001.accuse.eml"


class StoppingPostgresOnAccept(Inbox):
    """Accepts the first message, but stops PostgreSQL before saying so (as a restart would)."""

    def __init__(self, cluster) -> None:
        super().__init__()
        self.cluster = cluster

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if not self.messages:
            self.cluster.stop()
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def store(database_url):
    opened = PostgresStore.open_checked(database_url, timeout=1.0)
    yield opened
    opened.close()


@pytest.fixture
def inbox(postgres_cluster):
    port = free_port()
    handler = StoppingPostgresOnAccept(postgres_cluster)
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    handler.port = port
    try:
        yield handler
    finally:
        controller.stop()
        if not postgres_cluster.is_running():
            postgres_cluster.start()


def sent_while_postgresql_stops(store, data_dir, inbox, postgres_cluster) -> PostgresOutbox:
    outbox = store.outbox.for_sender(data_dir)
    assert outbox.queue(NAME, message("accusé"), "porteur@example.org")
    report = outbox.deliver(MailSettings(host="127.0.0.1", port=inbox.port, mail_from="ami@example.org"))
    assert len(inbox.messages) == 1 and report.error == "base PostgreSQL injoignable"
    postgres_cluster.start()
    return outbox


def sent_at(database_url):
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT sent_at IS NOT NULL FROM outbox WHERE name = %s", (NAME,)).fetchone()[0]


def test_the_same_mailers_next_round_marks_it_sent_and_never_sends_it_again(store, data_dir, inbox, postgres_cluster,
                                                                            database_url):
    outbox = sent_while_postgresql_stops(store, data_dir, inbox, postgres_cluster)
    settings = MailSettings(host="127.0.0.1", port=inbox.port, mail_from="ami@example.org")
    for _ in range(20):  # the pool reconnects within a few rounds; a claim of any age would be given back
        report = outbox.deliver(settings, stale_after=0)
        if not report.error:
            break
    assert report.error == "" and report.sent == []
    assert len(inbox.messages) == 1 and sent_at(database_url) is True


def test_the_hosts_next_mailer_marks_it_sent_at_start_and_never_sends_it_again(store, data_dir, inbox,
                                                                             postgres_cluster, database_url):
    sent_while_postgresql_stops(store, data_dir, inbox, postgres_cluster)
    store.close()
    restarted = PostgresStore.open_checked(database_url, timeout=5.0)  # the mailer started again
    try:
        outbox = restarted.outbox.for_sender(data_dir)
        assert outbox.release_own_claims() == []
        report = outbox.deliver(MailSettings(host="127.0.0.1", port=inbox.port, mail_from="ami@example.org"),
                                stale_after=0)
        assert report.sent == [] and len(inbox.messages) == 1 and sent_at(database_url) is True
    finally:
        restarted.close()


CLAIM_IN_ANOTHER_PROCESS = """
import sys
from collector.stores.postgres import PostgresStore
store = PostgresStore.open_checked(sys.argv[1])
outbox = store.outbox.for_sender(sys.argv[2])
outbox.release_own_claims()  # what a mailer does at start, under its host's lock
print(outbox.claim(1)[0][0])
store.close()
"""


def claim_in_another_process(database_url: str, folder: str) -> str:
    done = subprocess.run([sys.executable, "-c", CLAIM_IN_ANOTHER_PROCESS, database_url, folder], check=True,
                          capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                              os.path.abspath(__file__)))))
    return done.stdout.strip()


def test_a_host_cloned_with_the_same_name_and_path_never_takes_back_the_others_claims(store, database_url, tmp_path):
    folder = tmp_path / "donnees"
    folder.mkdir()
    assert store.outbox.queue(NAME, message("accusé"), "porteur@example.org")
    assert claim_in_another_process(database_url, str(folder)) == NAME  # host A's mailer, still running
    folder.rename(tmp_path / "disque-de-a")  # host B: the same path, on its own disk, cloned before A ran
    folder.mkdir()
    assert store.outbox.for_sender(str(folder)).release_own_claims() == []
    assert store.outbox.pending_count() == 0, "A's claim stands"


def test_the_next_mailer_of_the_same_host_takes_back_its_dead_predecessors_claim(store, database_url, tmp_path):
    folder = tmp_path / "donnees"
    folder.mkdir()
    assert store.outbox.queue(NAME, message("accusé"), "porteur@example.org")
    assert claim_in_another_process(database_url, str(folder)) == NAME  # then that mailer died
    assert store.outbox.for_sender(str(folder)).release_own_claims() == [NAME]
