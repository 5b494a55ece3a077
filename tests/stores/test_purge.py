"""`flask --app collector purge` on both stores (store.retention, collector/stores/retention.py):
the same dossiers chosen (a Paris day), the same output, every part of an old dossier gone
(record, submission ids, versions, history, mails and their memory) and a young one untouched;
a purge stopped half-way leaves the dossier for the next purge to find and finish (on
PostgreSQL whole: one transaction); two hosts on one database see the purge at once."""

from __future__ import annotations

import os
import time
from datetime import datetime
from email.message import EmailMessage

import psycopg
import pytest

from collector import appstate, create_app
from collector.porteur.links import dossier_path
from collector.records import serialise_record
from collector.statuses import PARIS, add_note, change_status
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record
from tests.support.stores import store_opener

SECRET = "purge-tests-secret"
OLD, YOUNG = "AMI-2021-0001", "AMI-2021-0002"
# legal.retention_months is 36: on 15/04/2024 the limit is 15/04/2021, a Paris day. AMI-2021-0002
# came in at 00:30 on that day in Paris, still 14/04 in UTC: young on both stores.
TODAY = "2024-04-15"
RECEIVED = {OLD: datetime(2021, 4, 14, 23, 30, tzinfo=PARIS), YOUNG: datetime(2021, 4, 15, 0, 30, tzinfo=PARIS)}
DRY_RUN = ("AMI-2021-0001 (reçue le 14/04/2021 23:30) serait supprimée, avec son historique et ses e-mails.\n"
           "1 candidature(s) antérieure(s) au 15/04/2021 (conservation : 36 mois) à supprimer "
           "(simulation : rien n'a été supprimé).\n")
PURGED = ("AMI-2021-0001 (reçue le 14/04/2021 23:30) supprimée, avec son historique et ses e-mails.\n"
          "1 candidature(s) antérieure(s) au 15/04/2021 (conservation : 36 mois) supprimée(s).\n")
ON_POSTGRESQL = pytest.mark.parametrize("store_kind", ["postgres"])
ON_THE_DATA_FOLDER = pytest.mark.parametrize("store_kind", ["folder"])


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def kept(store_kind, data_dir, request):
    store = store_opener(store_kind, data_dir, request)()
    yield store
    store.close()


@pytest.fixture
def make_host(store_kind, data_dir, request, monkeypatch):
    """A collector host on the test's store (its own data folder when given one); closed at the end."""
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    made = []

    def make(folder: str = data_dir):
        config = {"DATA_DIR": folder, "SECRET_KEY": SECRET}
        if store_kind == "postgres":
            config["DATABASE_URL"] = request.getfixturevalue("database_url")
        app = create_app(config)
        app.config["TESTING"] = True
        made.append(app)
        return app

    yield make
    for app in made:
        appstate.store(app).close()


def message(name: str) -> EmailMessage:
    composed = EmailMessage()
    composed["Subject"], composed["From"], composed["To"] = name, "ami@example.org", "porteur@example.org"
    composed.set_content(f"Corps de {name}\n")
    return composed


def full_dossier(store, form, number: int) -> str:
    """A dossier with every part a store keeps: record, submission id, a corrected version, a
    history, mails waiting, being sent and sent (the intake's and a correction's)."""
    reference, created = store.reference_for(f"envoi-{number}", "AMI-2021")
    assert created and reference == f"AMI-2021-{number:04d}"
    record = make_record(form, number, when=RECEIVED[reference])
    assert store.write_record(record)
    store.versions.write(reference, 2, serialise_record({**record, "corrected_at": "2021-04-20T10:00:00+02:00"}))
    change_status(store, reference, "en_instruction", by="alice")
    add_note(store, reference, "Dossier complet.", by="alice")
    for kind in ("accuse", "notification", "accuse-v2", "correction-v2"):
        assert store.outbox.queue(f"{reference}.{kind}.eml", message(kind), "porteur@example.org")
    claimed = dict(store.outbox.claim(2))
    store.outbox.mark_sent(sorted(claimed)[0])  # one sent, one being sent, two waiting
    return reference


def holdings(store, reference: str) -> dict:
    """Everything the store keeps of one dossier, as its interfaces give it."""
    return {"record": store.record_text(reference) if store.has_record(reference) else None,
            "ids": [pair for pair in store.submission_links() if pair[1] == reference],
            "versions": {number: store.versions.text(reference, number) for number in store.versions.numbers(reference)},
            "history": store.histories.text(reference),
            "mails": sorted((carried.name, carried.state) for carried in store.outbox.messages()
                            if carried.name.startswith(reference + ".")),
            "names": sorted(name for name in store.outbox.known_names() if name.startswith(reference + "."))}


GONE = {"record": None, "ids": [], "versions": {}, "history": None, "mails": [], "names": []}


@pytest.fixture
def two_dossiers(kept, make_host):
    form = make_host().config["FORM"]
    return [full_dossier(kept, form, 1), full_dossier(kept, form, 2)]


def test_the_dry_run_lists_the_old_dossiers_by_their_paris_day_and_removes_nothing(kept, make_host, two_dossiers):
    before = {reference: holdings(kept, reference) for reference in two_dossiers}
    result = make_host().test_cli_runner().invoke(args=["purge", "--dry-run", "--today", TODAY])
    assert result.exit_code == 0, result.output
    assert result.stdout == DRY_RUN and result.stderr == ""
    assert {reference: holdings(kept, reference) for reference in two_dossiers} == before


def test_an_old_dossier_is_entirely_forgotten_and_a_young_one_untouched(kept, make_host, two_dossiers):
    young = holdings(kept, YOUNG)
    assert all(young.values()) and all(holdings(kept, OLD).values())
    result = make_host().test_cli_runner().invoke(args=["purge", "--today", TODAY])
    assert result.exit_code == 0, result.output
    assert result.stdout == PURGED and result.stderr == ""
    assert holdings(kept, OLD) == GONE
    assert holdings(kept, YOUNG) == young
    again = make_host().test_cli_runner().invoke(args=["purge", "--today", TODAY])
    assert again.stdout.startswith("0 candidature(s) antérieure(s) au 15/04/2021"), "nothing left to find"


def reference_tables(connection: psycopg.Connection) -> list[str]:
    """Every table of the schema with a `reference` column: where a dossier's data is kept."""
    return [name for (name,) in connection.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'reference' ORDER BY table_name")]


def counts(url: str, reference: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table} WHERE reference = %s",  # noqa: S608
                                          (reference,)).fetchone()[0]
                for table in reference_tables(connection)}


@ON_POSTGRESQL
def test_on_postgresql_no_table_keeps_a_row_of_a_purged_dossier(database_url, make_host, two_dossiers):
    assert counts(database_url, OLD) == {"histories": 1, "outbox": 4, "records": 1, "submission_ids": 1,
                                         "versions": 1}
    young = counts(database_url, YOUNG)
    assert make_host().test_cli_runner().invoke(args=["purge", "--today", TODAY]).exit_code == 0
    assert counts(database_url, OLD) == dict.fromkeys(young, 0)
    assert counts(database_url, YOUNG) == young


def refuse_deletes(url: str, table: str) -> None:
    with psycopg.connect(url) as connection:
        connection.execute("CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'suppression interdite'; END $$")
        connection.execute(f"CREATE TRIGGER refuse_delete BEFORE DELETE ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION refuse_delete()")


def allow_deletes(url: str, table: str) -> None:
    with psycopg.connect(url) as connection:
        connection.execute(f"DROP TRIGGER refuse_delete ON {table}")


@ON_POSTGRESQL
@pytest.mark.parametrize("table", ["records", "outbox", "submission_ids"])
def test_on_postgresql_a_delete_refused_mid_purge_leaves_the_dossier_whole(database_url, kept, make_host,
                                                                          two_dossiers, table):
    before = holdings(kept, OLD)
    rows = counts(database_url, OLD)
    refuse_deletes(database_url, table)
    runner = make_host().test_cli_runner()
    stopped = runner.invoke(args=["purge", "--today", TODAY])
    assert stopped.exit_code == 1
    assert "Erreur : la suppression de AMI-2021-0001 n'a pas pu aller au bout" in stopped.stderr
    assert "relancez « flask --app collector purge »" in stopped.stderr and "Traceback" not in stopped.output
    assert holdings(kept, OLD) == before and counts(database_url, OLD) == rows
    allow_deletes(database_url, table)
    assert runner.invoke(args=["purge", "--today", TODAY]).stdout == PURGED
    assert holdings(kept, OLD) == GONE


@ON_THE_DATA_FOLDER
def test_on_the_data_folder_a_purge_stopped_half_way_keeps_the_record_so_the_next_one_finishes(
        kept, make_host, two_dossiers, data_dir, monkeypatch):
    unlink = os.unlink

    def read_only_versions(path, *args, **kwargs):
        if f"{os.sep}versions{os.sep}" in str(path):
            raise PermissionError(13, "Permission non accordée", str(path))
        return unlink(path, *args, **kwargs)

    runner = make_host().test_cli_runner()
    monkeypatch.setattr(os, "unlink", read_only_versions)
    stopped = runner.invoke(args=["purge", "--today", TODAY])
    monkeypatch.undo()
    assert stopped.exit_code == 1
    assert "Erreur : la suppression de AMI-2021-0001 n'a pas pu aller au bout" in stopped.stderr
    assert "v2.yaml : Permission non accordée" in stopped.stderr
    assert kept.has_record(OLD) and kept.versions.numbers(OLD) == [2], "the record stays while a part is left"
    finished = runner.invoke(args=["purge", "--today", TODAY])
    assert finished.stdout == PURGED
    assert holdings(kept, OLD) == GONE


@ON_POSTGRESQL
def test_a_purge_through_one_host_is_seen_at_once_through_the_other(make_host, two_dossiers, tmp_path):
    first, second = make_host(), make_host(str(tmp_path / "second-host"))
    page = dossier_path(SECRET, OLD)
    assert second.test_client().get(page).status_code == 200
    assert first.test_cli_runner().invoke(args=["purge", "--today", TODAY]).stdout == PURGED
    assert second.test_client().get(page).status_code == 404
    listed = second.test_cli_runner().invoke(args=["purge", "--dry-run", "--today", TODAY])
    assert listed.stdout.startswith("0 candidature(s) antérieure(s) au 15/04/2021")


@ON_POSTGRESQL
def test_on_postgresql_a_database_out_of_reach_stops_the_purge_in_french_and_it_finishes_later(
        database_url, kept, make_host, two_dossiers, monkeypatch):
    from tests.stores.test_histories import allow_connections

    monkeypatch.setenv("COLLECTOR_DATABASE_TIMEOUT", "1")
    runner = make_host().test_cli_runner()
    allow_connections(database_url, False)
    try:
        for args in (["purge", "--dry-run", "--today", TODAY], ["purge", "--today", TODAY]):
            refused = runner.invoke(args=args)
            assert refused.exit_code == 1 and refused.stdout == "" and "Traceback" not in refused.output
            assert refused.stderr.startswith("Erreur : impossible de lire les candidatures (PostgreSQL indisponible")
            assert "rien n'a été supprimé" in refused.stderr
    finally:
        allow_connections(database_url, True)
    assert all(holdings(kept, OLD).values()), "nothing removed meanwhile"
    deadline = time.monotonic() + 60
    while (finished := runner.invoke(args=["purge", "--today", TODAY])).exit_code:
        assert time.monotonic() < deadline, "the command's store did not reconnect by itself"
        time.sleep(0.2)
    assert finished.stdout == PURGED and holdings(kept, OLD) == GONE



def age_link_request(store_kind: str, data_dir: str, request, request_id: str, made: datetime) -> None:
    """Make one waiting lost-link request look made at `made`, where the store keeps it."""
    if store_kind == "postgres":
        with psycopg.connect(request.getfixturevalue("database_url")) as connection:
            connection.execute("UPDATE link_requests SET made_at = %s WHERE id = %s", (made, request_id))
        return
    from collector.link_requests import REQUESTS_DIR

    with open(os.path.join(data_dir, REQUESTS_DIR, f"{request_id}.json"), "w", encoding="utf-8") as handle:
        handle.write(f'{{"address": "ancien@example.org", "at": "{made.isoformat(timespec="seconds")}"}}')


def test_the_purge_removes_the_lost_link_requests_older_than_a_week_on_either_store(make_host, kept, store_kind,
                                                                                 data_dir, request):
    """The address a request keeps is personal data: past link_requests.MAX_AGE it goes, even with no mailer."""
    from datetime import timedelta, timezone

    from collector.link_requests import MAX_AGE

    old, recent = kept.link_requests.write("ancien@example.org"), kept.link_requests.write("recent@example.org")
    age_link_request(store_kind, data_dir, request, old, datetime.now(timezone.utc) - MAX_AGE - timedelta(minutes=1))
    app = make_host()
    simulated = app.test_cli_runner().invoke(args=["purge", "--dry-run", "--today", TODAY])
    assert simulated.exit_code == 0 and sorted(kept.link_requests.waiting()) == sorted([old, recent])
    purged = app.test_cli_runner().invoke(args=["purge", "--today", TODAY])
    assert purged.exit_code == 0, purged.output
    assert "1 demande(s) de lien de dossier non traitée(s) depuis plus de 7 jours supprimée(s)." in purged.stdout
    assert kept.link_requests.waiting() == [recent]


def test_an_erasure_request_forgets_the_named_dossier_whatever_its_age_and_nothing_else(kept, make_host,
                                                                                       two_dossiers):
    """RGPD article 17: the privacy page promises erasure on request; `purge --reference` gives it."""
    old = holdings(kept, OLD)
    runner = make_host().test_cli_runner()
    dry = runner.invoke(args=["purge", "--reference", YOUNG, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == ("AMI-2021-0002 (reçue le 15/04/2021 00:30) serait supprimée, avec son historique et ses "
                          "e-mails.\n1 candidature(s) nommée(s) à supprimer (simulation : rien n'a été supprimé).\n")
    assert all(holdings(kept, YOUNG).values())
    real = runner.invoke(args=["purge", "--reference", YOUNG])
    assert real.exit_code == 0, real.output
    assert real.stdout == ("AMI-2021-0002 (reçue le 15/04/2021 00:30) supprimée, avec son historique et ses "
                           "e-mails.\n1 candidature(s) nommée(s) supprimée(s) à la demande.\n")
    assert holdings(kept, YOUNG) == GONE
    assert holdings(kept, OLD) == old


def test_an_erasure_request_naming_an_unknown_dossier_deletes_nothing(kept, make_host, two_dossiers):
    before = {reference: holdings(kept, reference) for reference in two_dossiers}
    result = make_host().test_cli_runner().invoke(args=["purge", "--reference", OLD, "--reference", "AMI-2021-0099"])
    assert result.exit_code == 1
    assert "aucune candidature ne porte la référence « AMI-2021-0099 » : rien n'a été supprimé" in result.stderr
    assert {reference: holdings(kept, reference) for reference in two_dossiers} == before
