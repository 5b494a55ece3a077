"""The real mailer on PostgreSQL, with two hosts' data folders and one database: a lifecycle
mail whose queueing failed on host A (the outbox refusing with SQLSTATE 55P03, as under a
lock_timeout) is queued and sent once by host B's mailer; and while PostgreSQL is down the
mailer says so in one line per round, never a traceback."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import psycopg

from collector import appstate, create_app
from collector.records import build_record
from tests.review.mailer_process import mailer
from tests.review.smtp import smtp_server
from tests.support.payloads import valid_answers

from .test_two_hosts import host_env

REFUSING_TRIGGER = """
CREATE FUNCTION refuse_messages() RETURNS trigger AS $$ BEGIN
  IF NEW.name LIKE '%message-%' THEN RAISE EXCEPTION 'lock timeout' USING ERRCODE = '55P03'; END IF;
  RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_messages BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_messages();
"""


def host_a(database_url: str, folder: str, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    return create_app({"DATA_DIR": folder, "DATABASE_URL": database_url, "SECRET_KEY": "la clé des deux hôtes"})


def test_a_message_not_queued_on_host_a_is_sent_once_by_host_bs_mailer(database_url, tmp_path, monkeypatch):
    folder_a, folder_b = tmp_path / "hote-a", tmp_path / "hote-b"
    folder_a.mkdir()
    folder_b.mkdir()
    app = host_a(database_url, str(folder_a), monkeypatch)
    store = appstate.store(app)
    try:
        form = app.config["FORM"]
        record = build_record("AMI-2021-0001", datetime(2021, 4, 15, 8, tzinfo=timezone.utc), form.version,
                              valid_answers(form))
        assert store.outbox.write_record(record, lambda: [])
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(REFUSING_TRIGGER)
        result = app.test_cli_runner().invoke(args=["message", "AMI-2021-0001", "Pouvez-vous préciser ?",
                                                    "--by", "alice"])
        assert result.exit_code == 0 and "n'a pas pu être mis dans la file d'envoi" in result.output
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute("DROP TRIGGER refuse_messages ON outbox")
    finally:
        store.close()

    with smtp_server() as inbox:
        env = host_env(database_url, str(folder_b), COLLECTOR_SMTP_HOST="127.0.0.1",
                       COLLECTOR_SMTP_PORT=str(inbox.port), COLLECTOR_MAIL_RETRY_SECONDS="1")
        with mailer(env, str(tmp_path), "mailer-b") as running:
            deadline = time.monotonic() + 30
            while not any("message-" in str(item.message["Message-ID"]) for item in inbox.messages):
                assert time.monotonic() < deadline, running.log()
                time.sleep(0.1)
            time.sleep(3)  # three more catch-up rounds: nothing is queued again
            assert running.stop() == 0
    messages = [item for item in inbox.messages if "message-" in str(item.message["Message-ID"])]
    assert len(messages) == 1 and messages[0].recipients == [record["answers"]["contact_email"]]
    assert "queued again" in running.log()


def test_while_postgresql_is_down_the_mailer_logs_one_line_a_round_and_no_traceback(database_url, postgres_cluster,
                                                                                   tmp_path):
    folder = tmp_path / "hote"
    folder.mkdir()
    with smtp_server() as inbox:
        env = host_env(database_url, str(folder), COLLECTOR_SMTP_HOST="127.0.0.1", COLLECTOR_SMTP_PORT=str(inbox.port),
                       COLLECTOR_MAIL_RETRY_SECONDS="1", COLLECTOR_DATABASE_TIMEOUT="1")
        with mailer(env, str(tmp_path)) as running:
            postgres_cluster.stop()
            try:
                running.wait_for_log("mailer: a round stopped", timeout=30)
                time.sleep(3)
            finally:
                postgres_cluster.start()
            assert running.stop() == 0
    log = running.log()
    assert "Traceback" not in log and "a round failed" not in log
    assert "mailer: a round stopped: PostgreSQL indisponible" in log
