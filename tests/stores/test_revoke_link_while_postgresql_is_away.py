"""`revoke-link` run on one host while PostgreSQL is out of reach (restarting): a French message
saying that nothing was revoked and to run it again, exit status 1, never a traceback; run
again once the database is back, the link is revoked, and the contact a first run's version
had already replaced is told, as if the first run had gone through."""

from __future__ import annotations

import psycopg
import pytest

from collector import appstate, create_app
from collector.dossier import latest_record
from collector.porteur.revocation import current_generation
from tests.review.factory import make_record

from .test_histories import allow_connections

REFERENCE = "AMI-2021-0001"
RESTORED = "porteur.legitime@example.org"


@pytest.fixture
def make_host(data_dir, database_url, monkeypatch):
    """A host's app, as each command run makes (its own connection pool)."""
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    made = []

    def make():
        made.append(create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "DATABASE_TIMEOUT": 1.0,
                                "SECRET_KEY": "revoke-link-outage-secret"}))
        return made[-1]

    yield make
    for app in made:
        appstate.store(app).close()


def test_revoke_link_with_postgresql_away_says_so_in_french_and_works_once_it_is_back(make_host, database_url):
    host = make_host()
    assert appstate.store(host).write_record(make_record(host.config["FORM"], 1))
    runner = host.test_cli_runner()
    allow_connections(database_url, False)
    try:
        refused = runner.invoke(args=["revoke-link", REFERENCE, "--by", "alice"])
    finally:
        allow_connections(database_url, True)
    assert refused.exit_code == 1
    assert isinstance(refused.exception, SystemExit), "a French message, not a traceback"
    assert "PostgreSQL indisponible" in refused.output and "Relancez la même commande" in refused.output
    again = make_host()  # the command run again: a new process
    done = again.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "alice"])
    assert done.exit_code == 0, done.output
    assert current_generation(appstate.store(again), REFERENCE) == 1


def refuse_history_writes(url: str, refused: bool) -> None:
    """Fault injection in PostgreSQL: writing a history fails (as when the server goes away between
    the revocation's version and its event), or works again."""
    with psycopg.connect(url) as connection:
        if refused:
            connection.execute("CREATE FUNCTION refuse_history() RETURNS trigger LANGUAGE plpgsql AS "
                               "$$ BEGIN RAISE EXCEPTION 'historique indisponible'; END $$")
            connection.execute("CREATE TRIGGER refuse_history BEFORE INSERT OR UPDATE ON histories "
                               "FOR EACH ROW EXECUTE FUNCTION refuse_history()")
        else:
            connection.execute("DROP TRIGGER refuse_history ON histories")


def test_revoke_link_run_again_after_its_event_failed_still_tells_the_contact_it_replaced(make_host, database_url):
    host = make_host()
    store = appstate.store(host)
    record = make_record(host.config["FORM"], 1)
    assert store.write_record(record)
    replaced = record["answers"]["contact_email"]
    refuse_history_writes(database_url, True)
    failed = host.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "alice", "--contact", RESTORED])
    refuse_history_writes(database_url, False)
    assert failed.exit_code != 0 and current_generation(store, REFERENCE) == 0
    assert latest_record(store, REFERENCE)["answers"]["contact_email"] == RESTORED, "the version was stored first"
    done = host.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "alice", "--contact", RESTORED])
    assert done.exit_code == 0, done.output
    assert f"l'ancienne ({replaced}) est prévenue" in done.output
    notice = [carried for carried in store.outbox.messages() if carried.name.endswith(".lien-remplace-1-ancien-contact.eml")]
    assert len(notice) == 1 and replaced.encode() in notice[0].raw
