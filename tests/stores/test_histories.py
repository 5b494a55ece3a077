"""`store.histories` and `store.versions` (collector/stores/histories.py) on both stores: the
same documents, byte for byte; a version is written once; a refused event stores nothing;
the schema before 0005 holding data is upgraded; on PostgreSQL the porteur's pages after
« reçu » work, and answer a French 503 while the database is out of reach."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta

import psycopg
import pytest

from collector import appstate, create_app, dossier, meetings
from collector.formdef import load_form
from collector.porteur.links import dossier_path
from collector.records import RecordError, serialise_record
from collector.statuses import PARIS, StatusError, add_note, change_status, read_history
from collector.stores import schema
from collector.stores.postgres import PostgresStore
from collector.yamlio import dump_yaml
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record
from tests.support.payloads import form_hidden_fields
from tests.support.stores import store_opener

NOW = datetime(2021, 4, 20, 10, tzinfo=PARIS)
SECRET = "porteur-tests-secret"


def link(reference: str, action: str = "") -> str:
    return dossier_path(SECRET, reference, action)


@pytest.fixture(scope="module")
def form():
    return load_form()


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def kept(store_kind, data_dir, request):
    store = store_opener(store_kind, data_dir, request)()
    yield store
    store.close()


@pytest.fixture
def reference(kept, form):
    record = make_record(form, 1)
    assert kept.write_record(record)
    return record["reference"]


@pytest.fixture
def noted(database_url, data_dir, request, form):
    """PostgreSQL holding AMI-2021-0001 and its history (a note)."""
    store = store_opener("postgres", data_dir, request)()
    record = make_record(form, 1)
    store.write_record(record)
    add_note(store, record["reference"], "Vu", by="alice")
    yield store
    store.close()


def test_a_history_is_kept_as_the_yaml_document_the_data_folder_writes(kept, reference):
    history = change_status(kept, reference, "en_instruction", by="alice", note="Complet.", now=NOW)
    add_note(kept, reference, "À rappeler", by="bruno", now=NOW)
    assert kept.histories.text(reference) == dump_yaml(read_history(kept, reference)).encode("utf-8")
    assert history["status"] == "en_instruction" and kept.histories.references() == [reference]
    assert kept.histories.text("AMI-2021-0002") is None and kept.histories.read("AMI-2021-0002") is None


def test_a_version_is_the_records_yaml_verbatim_and_its_number_is_written_once(kept, reference, form):
    corrected = {**make_record(form, 1), "projet": "corrigé"}
    document = serialise_record({**corrected, "version": 2})
    kept.versions.write(reference, 2, document)
    with pytest.raises(FileExistsError):
        kept.versions.write(reference, 2, serialise_record({**corrected, "version": 2, "autre": "non"}))
    assert kept.versions.numbers(reference) == [2] and kept.versions.text(reference, 2) == document
    assert dossier.latest_record(kept, reference)["version"] == 2
    with pytest.raises(RecordError):
        kept.versions.read(reference, 3)


def test_removing_a_dossiers_history_and_versions_leaves_the_others(kept, reference, form):
    other = make_record(form, 2)
    kept.write_record(other)
    for each in (reference, other["reference"]):
        add_note(kept, each, "Vu", by="alice")
        kept.versions.write(each, 2, serialise_record({**other, "reference": each, "version": 2}))
    assert kept.histories.remove(reference) and kept.versions.remove(reference) == 1
    assert not kept.histories.remove(reference) and kept.versions.remove(reference) == 0
    assert kept.histories.references() == [other["reference"]] and kept.versions.numbers(other["reference"]) == [2]
    assert read_history(kept, reference)["events"] == []


def test_a_refused_event_stores_nothing(kept, reference):
    slot = meetings.Slot(NOW + timedelta(days=1), 60, "Caen", "Alice")  # still to come: only the cancellation refuses
    proposed = meetings.propose(kept, reference, [slot], by="alice", now=NOW)
    stale = read_history(kept, reference)
    meetings.cancel(kept, reference, stale, proposed.number, by="alice", now=NOW)
    before = kept.histories.text(reference)
    with pytest.raises(meetings.MeetingError, match="n'attend plus de réponse"):
        meetings.accept(kept, reference, stale, proposed.number, 0, NOW)  # checked again under the lock
    with pytest.raises(StatusError, match="Passage impossible"):
        change_status(kept, reference, "oriente_feder", by="alice")
    assert kept.histories.text(reference) == before


def test_a_history_unreadable_in_postgresql_is_refused_in_french(noted, database_url):
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE histories SET document = 'events: [pas fini'")
    with pytest.raises(StatusError, match="Historique illisible : AMI-2021-0001.yaml"):
        add_note(noted, "AMI-2021-0001", "Encore", by="alice")
    assert dossier.safe_history(noted, "AMI-2021-0001")["events"] == []


def test_postgresql_keeps_each_documents_sha256_beside_it(noted, database_url):
    noted.versions.write("AMI-2021-0001", 2, serialise_record({**noted.read_record("AMI-2021-0001"), "version": 2}))
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT document, document_sha256 FROM histories UNION ALL "
                                  "SELECT document, document_sha256 FROM versions").fetchall()
    assert len(rows) == 2
    assert all(digest == "sha256:" + hashlib.sha256(text.encode()).hexdigest() for text, digest in rows)


def test_the_schema_before_histories_holding_data_is_upgraded_and_keeps_it(postgres_cluster, form):
    url = postgres_cluster.url(postgres_cluster.new_database())
    previous = max(migration.version for migration in schema.migrations() if migration.version < 5)
    with psycopg.connect(url) as connection:
        schema.upgrade(connection, target=previous)
    old = PostgresStore(url)  # what a collector of the previous schema wrote: a record
    old.pool.open()
    record = make_record(form, 1)
    assert old.write_record(record)
    old.close()
    with psycopg.connect(url) as connection:
        applied = schema.upgrade(connection)
        assert "histories" in [migration.name for migration in applied]  # and any schema file after it
        assert schema.current_version(connection) == schema.code_version()
    store = PostgresStore(url)
    store.pool.open()
    try:
        assert store.read_record(record["reference"]) == record
        change_status(store, record["reference"], "en_instruction", by="alice")
        assert read_history(store, record["reference"])["status"] == "en_instruction"
    finally:
        store.close()


@pytest.fixture
def postgres_app(data_dir, database_url, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "DATABASE_TIMEOUT": 1.0,
                      "SECRET_KEY": SECRET, "RATE_LIMIT": (10_000, 600)})
    yield app
    appstate.store(app).close()


def allow_connections(database_url: str, allowed: bool) -> None:
    """Fault injection in PostgreSQL: the database refuses (or accepts again) new connections,
    and the open ones are closed."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


def test_on_postgresql_the_porteur_replies_and_while_it_is_out_of_reach_gets_a_french_503(postgres_app,
                                                                                         database_url, form):
    store = appstate.store(postgres_app)
    record = make_record(form, 1)
    store.write_record(record)
    dossier.write_to_porteur(store, "AMI-2021-0001", "Une question ?", by="alice")
    client = postgres_app.test_client()
    allow_connections(database_url, False)
    try:
        refused = client.post(link("AMI-2021-0001", "repondre"), data={"message": "Pendant la panne"})
        assert refused.status_code == 503 and "momentanément indisponible" in refused.text
    finally:
        allow_connections(database_url, True)
    deadline = time.monotonic() + 60
    while (answered := client.post(link("AMI-2021-0001", "repondre"), data={"message": "Après"})).status_code == 503:
        assert time.monotonic() < deadline, "the collector did not reconnect to PostgreSQL by itself"
        time.sleep(0.2)
    assert answered.status_code == 303
    assert [event.get("text") for event in read_history(store, "AMI-2021-0001")["events"]] == ["Une question ?", "Après"]
    assert_mails_in_the_shared_outbox(postgres_app, {"AMI-2021-0001.reponse-porteur-2.eml"})


def test_on_postgresql_the_porteur_corrects_and_chooses_a_meeting(postgres_app, form):
    store = appstate.store(postgres_app)
    record = make_record(form, 1)
    store.write_record(record)
    client = postgres_app.test_client()
    page = client.get(link("AMI-2021-0001", "corriger"))
    answers = {**record["answers"], "rgpd": "oui", "projet_titre": "Titre corrigé"}
    corrected = client.post(link("AMI-2021-0001", "corriger"), data={**answers, **form_hidden_fields(page.text)})
    assert corrected.status_code == 303 and corrected.headers["Location"].endswith("&fait=correction")
    meetings.propose(store, "AMI-2021-0001", [meetings.Slot(NOW, 60, "Caen", "Alice")], by="alice", now=NOW)
    chosen = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"})
    assert chosen.status_code == 303 and "fait=rencontre" in chosen.headers["Location"]
    history = read_history(store, "AMI-2021-0001")
    assert [event["kind"] for event in history["events"]] == ["correction", "rencontre_proposee", "rencontre_acceptee"]
    assert dossier.latest_record(store, "AMI-2021-0001")["answers"]["projet_titre"] == "Titre corrigé"
    shown = client.get(link("AMI-2021-0001")).text
    assert "Titre corrigé" in shown and "Version 2 (la plus récente de 2)" in shown
    assert_mails_in_the_shared_outbox(postgres_app, {"AMI-2021-0001.accuse-v2.eml", "AMI-2021-0001.correction-v2.eml"})
    assert any(name.startswith("AMI-2021-0001.rencontre-1-") for name in store.outbox.known_names())


def assert_mails_in_the_shared_outbox(app, names: set[str]) -> None:
    """Every host's mailer sends from PostgreSQL's outbox: the mails are there, none in the
    host's own folder (where no mailer of a PostgreSQL collector would ever look)."""
    import os

    assert names <= appstate.store(app).outbox.known_names()
    folder = os.path.join(app.config["DATA_DIR"], "outbox")
    assert not os.path.isdir(folder) or os.listdir(folder) == []


def test_on_postgresql_the_status_note_and_message_commands_write_the_shared_history(postgres_app, form):
    store = appstate.store(postgres_app)
    store.write_record(make_record(form, 1))
    runner = postgres_app.test_cli_runner()
    for args in (["status", "AMI-2021-0001", "en_instruction", "--by", "alice"],
                 ["note", "AMI-2021-0001", "À rappeler", "--by", "alice"],
                 ["message", "AMI-2021-0001", "Bonjour", "--by", "alice"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    assert [event["kind"] for event in read_history(store, "AMI-2021-0001")["events"]] == ["status", "note", "message"]
    assert_mails_in_the_shared_outbox(postgres_app, {"AMI-2021-0001.message-3.eml"})  # named after its event
