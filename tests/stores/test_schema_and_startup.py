"""The PostgreSQL store's schema (`flask --app collector db-upgrade`), the start-up checks that
stop a misconfigured collector with a French message, and /healthz on the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

import psycopg
import pytest

from collector import appstate, create_app
from collector.records import build_record
from collector.stores import schema
from collector.stores.postgres import PostgresStore
from tests.support.net import free_port
from tests.support.payloads import encode_form, form_hidden_fields, valid_answers
from tests.support.servers import REPO_ROOT, stop_process_group

FLASK = os.path.join(os.path.dirname(sys.executable), "flask")
GUNICORN = [sys.executable, "-m", "gunicorn"]


def flask(*args: str, url: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLLECTOR_DATABASE_URL": url or ""}
    return subprocess.run([FLASK, "--app", "collector", *args], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def empty_database(postgres_cluster):
    """A new database with no schema at all."""
    return postgres_cluster.url(postgres_cluster.new_database())


def version_of(url: str) -> int:
    with psycopg.connect(url) as connection:
        return schema.current_version(connection)


def test_db_upgrade_creates_the_schema_then_has_nothing_left_to_do(empty_database):
    first = flask("db-upgrade", url=empty_database)
    assert first.returncode == 0, first.stderr
    every = schema.migrations()
    names = ", ".join(f"{migration.version:04d}_{migration.name}" for migration in every)
    assert f"Schéma de la base mis à jour : version 0 → {every[-1].version} ({names})." in first.stdout
    assert names.startswith("0001_records, 0002_rate_limit")
    assert version_of(empty_database) == schema.code_version() == every[-1].version
    again = flask("db-upgrade", url=empty_database)
    assert again.returncode == 0 and f"déjà à jour (version {every[-1].version})" in again.stdout


def test_db_upgrade_without_a_database_url_says_the_data_folder_needs_none():
    result = flask("db-upgrade", url=None)
    assert result.returncode == 1 and "COLLECTOR_DATABASE_URL n'est pas définie" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_old_schema_holding_data_is_upgraded_and_keeps_it(empty_database, data_dir, monkeypatch):
    with psycopg.connect(empty_database) as connection:
        assert [migration.version for migration in schema.upgrade(connection, target=1)] == [1]
    old = PostgresStore(empty_database)  # what a collector of schema 1 wrote: a reference, an id, a record
    old.pool.open()
    reference, _fresh = old.reference_for("id-de-envoi-ancien", "AMI-2021")
    record = build_record(reference, datetime(2021, 4, 15, 10, tzinfo=timezone.utc), 1, {"projet_titre": "Ancien"})
    assert old.write_record(record)
    old.close()

    result = flask("db-upgrade", url=empty_database)
    assert result.returncode == 0 and f"version 1 → {schema.code_version()} (0002_rate_limit" in result.stdout, result.stderr

    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": empty_database, "MIN_FILL_SECONDS": 0,
                      "RATE_LIMIT": (1, 600), "SECRET_KEY": "k"})
    try:
        store = appstate.store(app)
        assert store.read_record("AMI-2021-0001") == record
        assert store.lookup_submission("id-de-envoi-ancien") == "AMI-2021-0001"
        client, form = app.test_client(), app.config["FORM"]
        hidden = form_hidden_fields(client.get("/candidater/").text)
        stored = client.post("/candidater/", data=encode_form(valid_answers(form), hidden),
                             content_type="application/x-www-form-urlencoded")
        assert stored.headers["Location"].startswith("/candidater/recu/AMI-2021-0002?")  # the counter went on
        hidden = form_hidden_fields(client.get("/candidater/").text)
        limited = client.post("/candidater/", data=encode_form(valid_answers(form), hidden),
                              content_type="application/x-www-form-urlencoded")
        assert limited.status_code == 429  # the rate limit's table, added by 0002, is in use
    finally:
        appstate.store(app).close()


def test_a_failing_schema_file_leaves_the_schema_as_it_was(empty_database, monkeypatch, tmp_path):
    for migration in schema.migrations():
        (tmp_path / os.path.basename(migration.path)).write_text(migration.sql(), encoding="utf-8")
    (tmp_path / "0003_broken.sql").write_text("CREATE TABLE half_done (x int);\nSELECT no_such_function();\n")
    monkeypatch.setattr(schema, "SCHEMA_DIR", str(tmp_path))
    with psycopg.connect(empty_database) as connection, pytest.raises(psycopg.errors.UndefinedFunction):
        schema.upgrade(connection)
    with psycopg.connect(empty_database) as connection:
        assert schema.current_version(connection) == 0
        assert connection.execute("SELECT to_regclass('records'), to_regclass('half_done')").fetchone() == (None, None)


def newer_schema(url: str) -> str:
    with psycopg.connect(url) as connection:
        connection.execute("INSERT INTO schema_version (version, name) VALUES (99, 'from_the_future')")
    return url


def wrong_password(url: str) -> str:
    return url.replace(":mot-de-passe-de-test@", ":pas-le-bon@")


def unreachable(url: str) -> str:
    return url.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/" + url.rsplit("/", 1)[1]


def missing_database(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/base_inexistante"


START_PROBLEMS = {
    "unreachable": (unreachable, "ne répond pas. Vérifiez que le serveur PostgreSQL est démarré"),
    "wrong password": (wrong_password, "PostgreSQL refuse l'identifiant ou le mot de passe de COLLECTOR_DATABASE_URL"),
    "missing database": (missing_database, "n'existe pas : créez-la"),
    "missing schema": (None, "la base ne contient pas encore le schéma du collecteur : lancez « flask --app collector "
                             "db-upgrade »"),
    "newer schema": (newer_schema, f"plus récent que celui du code (version {schema.code_version()})"),
}


@pytest.fixture(params=list(START_PROBLEMS))
def bad_start(request, postgres_cluster):
    """(COLLECTOR_DATABASE_URL, the French words the collector must say) for each way a start fails."""
    change, words = START_PROBLEMS[request.param]
    if change is None:
        return postgres_cluster.url(postgres_cluster.new_database()), words
    return change(postgres_cluster.url(postgres_cluster.new_database(template=postgres_cluster.template))), words


def test_gunicorn_as_deployed_refuses_to_start_with_one_french_message_and_no_traceback(bad_start, data_dir, tmp_path):
    url, words = bad_start
    env = {**os.environ, "COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_DATABASE_URL": url, "COLLECTOR_SMTP_HOST": "",
           "COLLECTOR_SECRET_KEY": "la même clé sur chaque serveur"}
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*GUNICORN, "--config", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{free_port()}",
                                    "--workers", "2", "--no-control-socket", "--chdir", REPO_ROOT,
                                    "collector:create_app()"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=REPO_ROOT, start_new_session=True)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stop_process_group(process, signal.SIGTERM, timeout=10)
        pytest.fail("gunicorn kept running with an unusable database:\n" + log_path.read_text())
    output = log_path.read_text(encoding="utf-8")
    assert process.returncode == 4
    assert output.count("Le collecteur ne peut pas démarrer : ") == 1 and words in output, output
    assert "Booting worker" not in output
    assert "Traceback" not in output and "mot-de-passe-de-test" not in output and "pas-le-bon" not in output


def test_the_app_factory_stops_with_status_4_and_the_message_on_stderr(bad_start, data_dir, capsys):
    url, words = bad_start
    with pytest.raises(SystemExit) as stopped:
        create_app({"DATA_DIR": data_dir, "DATABASE_URL": url, "SECRET_KEY": "k"})
    assert stopped.value.code == 4 and words in capsys.readouterr().err


def test_a_command_that_cannot_use_the_database_says_it_changed_nothing_not_that_the_collector_cannot_start(
        bad_start, data_dir):
    url, words = bad_start
    env = {**os.environ, "COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_DATABASE_URL": url, "COLLECTOR_SMTP_HOST": "",
           "COLLECTOR_SECRET_KEY": "k"}
    done = subprocess.run([FLASK, "--app", "collector", "status", "AMI-2021-0001", "en_instruction"], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Rien n'a été changé : ") and words in done.stderr, done.stderr
    assert "ne peut pas démarrer" not in done.stderr


def test_with_a_database_every_host_must_be_given_the_same_secret_key(data_dir, database_url):
    env = {**os.environ, "COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_DATABASE_URL": database_url,
           "COLLECTOR_SECRET_KEY": "", "COLLECTOR_SMTP_HOST": ""}
    done = subprocess.run([*GUNICORN, "--config", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{free_port()}",
                           "--no-control-socket", "collector:create_app()"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 4 and "Traceback" not in done.stderr
    assert "COLLECTOR_SECRET_KEY est vide : avec COLLECTOR_DATABASE_URL, chaque serveur doit avoir la même clé" \
        in done.stderr
    assert not os.path.exists(os.path.join(data_dir, "secret_key"))  # no key of its own was made


def test_a_database_url_that_is_not_postgresql_is_a_configuration_error(monkeypatch, data_dir):
    from collector.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="adresse PostgreSQL attendue"):
        load_config({"COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_DATABASE_URL": "mysql://x@y/z",
                     "COLLECTOR_SECRET_KEY": "k"})
