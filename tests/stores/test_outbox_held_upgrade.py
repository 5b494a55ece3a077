"""The schema file that lets the outbox hold a name back (0007_outbox_held) upgrades a database
whose outbox holds messages: every message keeps its state, the waiting one is still sent,
and a name can then be held back, never to be claimed."""

from __future__ import annotations

import psycopg

from collector.stores import schema
from collector.stores.postgres import PostgresStore

from .test_outbox import message


def test_an_outbox_holding_messages_is_upgraded_and_can_then_hold_names_back(postgres_cluster):
    url = postgres_cluster.url(postgres_cluster.new_database())
    [held_file] = [migration for migration in schema.migrations() if migration.name == "outbox_held"]
    with psycopg.connect(url) as connection:
        schema.upgrade(connection, target=held_file.version - 1)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("INSERT INTO outbox (name, reference, recipient, raw, sent_at) VALUES "
                           "('AMI-2021-0001.accuse.eml', 'AMI-2021-0001', 'a@example.org', 'sent', now())")
    before = PostgresStore(url)  # a store of the code before: its tables only
    before.pool.open()
    try:
        assert before.outbox.queue("AMI-2021-0002.accuse.eml", message("attend"), "b@example.org")
    finally:
        before.close()

    with psycopg.connect(url) as connection:
        assert held_file.name in [migration.name for migration in schema.upgrade(connection)]
    store = PostgresStore.open_checked(url)
    try:
        assert store.outbox.known_names() == {"AMI-2021-0001.accuse.eml", "AMI-2021-0002.accuse.eml"}
        assert store.outbox.hold_back("AMI-2021-0003.accuse.eml") is True
        assert store.outbox.pending_count() == 1
        assert [name for name, _raw in store.outbox.claim(5)] == ["AMI-2021-0002.accuse.eml"]
        states = {item.name: item.state for item in store.outbox.messages()}
        assert states == {"AMI-2021-0001.accuse.eml": "sent", "AMI-2021-0002.accuse.eml": "waiting",
                          "AMI-2021-0003.accuse.eml": "sent"}
    finally:
        store.close()
