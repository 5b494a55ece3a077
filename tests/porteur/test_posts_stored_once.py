"""A porteur's correction, reply or meeting choice is stored exactly once, and the page says the truth.

On both stores. Faults: on PostgreSQL, real locks and a trigger raising SQLSTATE 55P03 (what
lock_timeout gives under contention or during a db-upgrade); on the data folder, OS calls
that fail (os.replace, os.listdir) and the history's real flock. Two hosts: two apps with
their own data folders on one database."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime

import psycopg
import pytest

from collector import appstate, create_app, idempotency, meetings, statuses
from collector.dossier import version_numbers, write_to_porteur
from collector.durable import replace_file
from collector.statuses import PARIS, change_status, read_history
from collector.yamlio import dump_yaml
from tests.conftest import STORE_KINDS
from tests.support.payloads import form_hidden_fields

from .conftest import CLOSED_NOW, SECRET, link, outbox
from .test_corrections import correction_page, corrected, send_correction

REF = "AMI-2021-0001"
ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
ON_POSTGRES = pytest.mark.parametrize("store_kind", ["postgres"])
ON_THE_DATA_FOLDER = pytest.mark.parametrize("store_kind", ["folder"])
LOCK_TIMEOUT = """CREATE FUNCTION lock_timeout() RETURNS trigger AS $$ BEGIN
    RAISE EXCEPTION 'lock timeout' USING ERRCODE = '55P03'; END $$ LANGUAGE plpgsql;
    CREATE TRIGGER lock_timeout BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION lock_timeout();"""


@contextmanager
def database(url: str):
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def events(kept, kind: str) -> list[dict]:
    return [event for event in read_history(kept, REF)["events"] if event["kind"] == kind]


def kinds(kept) -> list[str]:
    return [event["kind"] for event in read_history(kept, REF)["events"]]


def reply_form(client) -> dict[str, str]:
    """The one-time id of the dossier page's reply form."""
    page = client.get(link(REF)).text
    hidden = form_hidden_fields(page)
    assert hidden.get("id_envoi"), "the reply form holds a one-time id"
    return {"id_envoi": hidden["id_envoi"]}


def send_reply(client, text: str, form: dict[str, str]):
    return client.post(link(REF, "repondre"), data={"message": text, **form})


@pytest.fixture
def other_host(database_url, tmp_path, monkeypatch):
    """A second collector host: its own data folder, the same database."""
    folder = tmp_path / "hote-b"
    folder.mkdir()
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    host = create_app({"DATA_DIR": str(folder), "DATABASE_URL": database_url, "MIN_FILL_SECONDS": 0,
                       "RATE_LIMIT": (10_000, 600), "SECRET_KEY": SECRET})
    yield host
    appstate.store(host).close()


def waiting_for_a_lock(url: str, count: int = 1) -> None:
    """Return once `count` sessions wait for a lock (a real wait, seen by PostgreSQL)."""
    with database(url) as connection:
        for _ in range(600):
            if connection.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError("nobody waits for the lock")


def waiting_for_the_flock(data_dir: str) -> None:
    """Return once a process or thread waits for the history's flock (/proc/locks shows `->` waiters)."""
    inode = str(os.stat(os.path.join(data_dir, statuses.LOCKS_DIR, f"review-{REF}.lock")).st_ino)
    for _ in range(600):
        with open("/proc/locks", encoding="ascii") as handle:
            if any("->" in line and f":{inode} " in line for line in handle):
                return
        time.sleep(0.05)
    raise AssertionError("nobody waits for the flock")


def in_thread(function):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()))
    thread.start()
    return thread, result


# --- finding 2: a correction's version and its event are one unit ---

@ON_POSTGRES
def test_a_correction_whose_event_cannot_be_written_stores_nothing_and_its_retry_stores_all(
        client, records, kept, database_url):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    with database(database_url) as connection:
        connection.execute(LOCK_TIMEOUT.format(table="histories"))
    refused = send_correction(client, answers, hidden=hidden)
    assert refused.status_code == 503 and "PAS été prise en compte" in refused.text
    assert version_numbers(kept, REF) == [] and kinds(kept) == []  # what the page says: nothing stored
    with database(database_url) as connection:
        connection.execute("DROP TRIGGER lock_timeout ON histories")
    retried = send_correction(client, answers, hidden=hidden)
    assert retried.status_code == 303 and retried.headers["Location"].endswith("&fait=correction")
    assert version_numbers(kept, REF) == [2] and [event["version"] for event in events(kept, "correction")] == [2]
    assert {f"{REF}.accuse-v2.eml", f"{REF}.correction-v2.eml"} <= set(outbox(kept))


@ON_THE_DATA_FOLDER
def test_a_correction_stored_without_its_event_is_confirmed_and_its_retry_writes_the_event(
        client, records, kept, data_dir, monkeypatch):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    real_replace = os.replace

    def failing_for_histories(source, target, *args, **kwargs):
        if os.sep + statuses.REVIEWS_DIR + os.sep in str(target):
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_for_histories)
    stored = send_correction(client, answers, hidden=hidden)
    # the version is on disk: the porteur is never told it was not taken
    assert stored.status_code == 303 and stored.headers["Location"].endswith("&fait=correction")
    assert version_numbers(kept, REF) == [2] and events(kept, "correction") == []
    monkeypatch.setattr(os, "replace", real_replace)
    retried = send_correction(client, answers, hidden=hidden)
    assert retried.status_code == 303 and retried.headers["Location"].endswith("&fait=correction-enregistree")
    assert version_numbers(kept, REF) == [2]
    [event] = events(kept, "correction")
    assert (event["version"], event["by"]) == (2, "porteur")


# --- finding 7: a status change racing a correction ---

def racing(database_url: str, table: str, first, second) -> list:
    """Lock `table` (EXCLUSIVE: reads go on, writes wait), run `first` until it waits, then
    `second` until it waits too, then release the lock; what each returned."""
    with database(database_url) as holder:
        holder.execute("BEGIN")
        holder.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        started = []
        for waiting, function in enumerate((first, second), start=1):
            started.append(in_thread(function))
            waiting_for_a_lock(database_url, waiting)
        holder.execute("COMMIT")
    for thread, _result in started:
        thread.join(30)
    return [result.get("value") for _thread, result in started]


@ON_POSTGRES
def test_a_correction_waiting_behind_a_status_change_is_refused_once_the_analysis_started(
        client, records, kept, database_url):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    # the status change waits to write its history; the correction, having checked the page's
    # status (« reçu »), waits for the history's lock
    _history, reply = racing(database_url, "histories", lambda: change_status(kept, REF, "en_instruction", by="alice"),
                             lambda: send_correction(client, answers, hidden=hidden))
    assert reply.status_code == 403 and "analyse a commencé" in reply.text
    assert kinds(kept) == ["status"] and version_numbers(kept, REF) == []


@ON_POSTGRES
def test_a_correction_and_a_status_change_at_once_are_kept_in_the_order_they_were_made(
        client, records, kept, database_url):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    # the correction waits to write its version; the status change waits for the history's lock
    reply, _history = racing(database_url, "versions", lambda: send_correction(client, answers, hidden=hidden),
                             lambda: change_status(kept, REF, "en_instruction", by="alice"))
    assert reply.status_code == 303
    assert kinds(kept) == ["correction", "status"] and version_numbers(kept, REF) == [2]


@ON_THE_DATA_FOLDER
def test_a_correction_waiting_for_the_history_lock_is_refused_once_the_analysis_started(
        client, records, kept, data_dir):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    with statuses.locked(data_dir, REF):  # a reviewer's status change holds the lock
        posted, reply = in_thread(lambda: send_correction(client, answers, hidden=hidden))
        waiting_for_the_flock(data_dir)
        history = statuses.empty_history(REF)
        history["events"].append({"at": "2021-04-15T10:00:00+02:00", "by": "alice", "kind": "status",
                                  "from": "recu", "to": "en_instruction", "note": ""})
        history["status"] = "en_instruction"
        replace_file(os.path.join(data_dir, statuses.REVIEWS_DIR), REF + ".yaml", dump_yaml(history).encode("utf-8"))
    posted.join(30)
    assert reply["value"].status_code == 403 and "analyse a commencé" in reply["value"].text
    assert kinds(kept) == ["status"] and version_numbers(kept, REF) == []


# --- finding 5: correction ids go through the store ---

@ON_POSTGRES
def test_a_correction_posted_again_through_the_other_host_is_recognised(client, records, kept, data_dir,
                                                                         other_host):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    assert send_correction(client, answers, hidden=hidden).headers["Location"].endswith("&fait=correction")
    again = send_correction(other_host.test_client(), answers, hidden=hidden)
    assert again.status_code == 303 and again.headers["Location"].endswith("&fait=correction-enregistree")
    assert version_numbers(kept, REF) == [2] and len(events(kept, "correction")) == 1
    assert not os.path.exists(os.path.join(data_dir, "ids"))  # nothing kept in the host's own folder


@ON_BOTH_STORES
def test_a_correction_posted_twice_makes_one_version_and_says_it_was_stored(client, records, kept):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    assert send_correction(client, answers, hidden=hidden).headers["Location"].endswith("&fait=correction")
    again = send_correction(client, corrected(records[0], projet_titre="Autre titre"), hidden=hidden)
    assert again.headers["Location"].endswith("&fait=correction-enregistree")
    assert version_numbers(kept, REF) == [2] and len(events(kept, "correction")) == 1


@ON_THE_DATA_FOLDER
def test_a_correction_id_in_the_data_folder_names_its_dossier_so_the_start_up_sweep_keeps_it(client, records, kept,
                                                                                           data_dir):
    answers = corrected(records[0], projet_titre="Titre corrigé")
    hidden = form_hidden_fields(correction_page(client).text)
    send_correction(client, answers, hidden=hidden)
    assert os.readlink(os.path.join(data_dir, "ids", hidden["id_envoi"])) == REF  # what purge removes with the dossier
    idempotency.sweep_dangling(data_dir, older_than_seconds=0)  # what the collector does at start
    again = send_correction(client, answers, hidden=hidden)
    assert again.headers["Location"].endswith("&fait=correction-enregistree")


# --- finding 3: replies and meeting choices ---

@pytest.fixture
def awaited(kept, records):
    """The Région wrote to the porteur: a reply is awaited."""
    write_to_porteur(kept, REF, "Pouvez-vous préciser le budget ?", by="alice")


@ON_BOTH_STORES
def test_a_reply_sent_twice_with_the_same_form_is_stored_and_notified_once(client, awaited, kept):
    form = reply_form(client)
    first = send_reply(client, "Le budget est de 12 000 €.", form)
    again = send_reply(client, "Le budget est de 12 000 €.", form)
    for reply in (first, again):
        assert reply.status_code == 303 and reply.headers["Location"].endswith("&fait=message#confirmation")
    assert len(events(kept, "reponse_porteur")) == 1
    assert [name for name in outbox(kept) if "reponse-porteur" in name] == [f"{REF}.reponse-porteur-2.eml"]
    assert send_reply(client, "Et une précision.", reply_form(client)).status_code == 303  # a new form: a new reply
    assert len(events(kept, "reponse_porteur")) == 2


@ON_BOTH_STORES
def test_a_reply_sent_again_with_the_same_form_and_another_text_is_refused_and_shown_back(client, awaited, kept):
    """A dossier page served again from the browser's cache carries the reply form's id already used:
    another text typed in it is neither stored nor notified, nor silently taken for the repeat."""
    form = reply_form(client)
    assert send_reply(client, "Le budget est de 12 000 €.", form).status_code == 303
    refused = send_reply(client, "Un tout autre message, <important>.", form)
    assert refused.status_code == 409
    page = refused.text.replace("&#39;", "'")
    assert "Ce formulaire a déjà été envoyé une première fois, avec un autre contenu" in page
    assert "Un tout autre message, &lt;important&gt;.</textarea>" in page
    assert [event["text"] for event in events(kept, "reponse_porteur")] == ["Le budget est de 12 000 €."]
    assert [name for name in outbox(kept) if "reponse-porteur" in name] == [f"{REF}.reponse-porteur-2.eml"]
    repeat = send_reply(client, "Le budget est de 12 000 €.", form)
    assert repeat.status_code == 303 and len(events(kept, "reponse_porteur")) == 1, "the same text is the repeat"


@ON_POSTGRES
def test_a_reply_sent_through_both_hosts_is_stored_once(client, awaited, kept, other_host):
    form = reply_form(client)
    assert send_reply(client, "Le budget est de 12 000 €.", form).status_code == 303
    assert send_reply(other_host.test_client(), "Le budget est de 12 000 €.", form).status_code == 303
    assert len(events(kept, "reponse_porteur")) == 1


@contextmanager
def versions_unreadable(kept, data_dir, database_url, monkeypatch):
    """Reading the dossier's versions fails: on PostgreSQL, the table locked as a db-upgrade
    altering it would (the collector's lock_timeout gives up); in the data folder, os.listdir fails."""
    if kept.kind == "postgresql":
        with database(database_url) as holder:
            holder.execute("BEGIN")
            holder.execute("LOCK TABLE versions IN ACCESS EXCLUSIVE MODE")
            yield
            holder.execute("ROLLBACK")
        return
    real_listdir = os.listdir

    def failing(path="."):
        if os.sep + "versions" + os.sep in str(path):
            raise OSError(errno.EIO, "Input/output error")
        return real_listdir(path)

    with monkeypatch.context() as patch:
        patch.setattr(os, "listdir", failing)
        yield


@pytest.fixture
def short_lock_wait(store_kind, request):
    """The collector's sessions give up a lock after 1 s (deploy/postgresql.sql sets 5 s)."""
    if store_kind == "postgres":
        url = request.getfixturevalue("database_url")
        with database(url) as connection:
            name = connection.execute("SELECT current_database()").fetchone()[0]
            connection.execute(f'ALTER DATABASE "{name}" SET lock_timeout = \'1s\'')
    return request.getfixturevalue("database_url") if store_kind == "postgres" else None


@ON_BOTH_STORES
def test_a_reply_that_cannot_be_stored_is_a_503_with_nothing_stored_and_its_retry_stores_one(
        short_lock_wait, client, awaited, kept, data_dir, monkeypatch):
    with versions_unreadable(kept, data_dir, short_lock_wait, monkeypatch):
        refused = send_reply(client, "Le budget est de 12 000 €.", {})
    assert events(kept, "reponse_porteur") == []  # what the page says:
    assert refused.status_code == 503 and "PAS été transmis" in refused.text
    retried = send_reply(client, "Le budget est de 12 000 €.", {})
    assert retried.status_code == 303 and len(events(kept, "reponse_porteur")) == 1
    assert f"{REF}.reponse-porteur-2.eml" in outbox(kept)


@ON_BOTH_STORES
def test_a_meeting_choice_that_cannot_be_stored_is_a_503_with_nothing_stored_and_its_retry_stores_it(
        short_lock_wait, client, records, kept, data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    slot = meetings.Slot(datetime(2021, 6, 15, 14, 30, tzinfo=PARIS), 60, "Caen", "Anne Houlette")
    meetings.propose(kept, REF, [slot], by="alice", now=datetime(2021, 6, 10, 10, tzinfo=PARIS))
    with versions_unreadable(kept, data_dir, short_lock_wait, monkeypatch):
        refused = client.post(link(REF, "rencontre/1"), data={"choix": "1"})
    assert meetings.meetings_of(read_history(kept, REF))[0].state == meetings.PROPOSED  # what the page says:
    assert refused.status_code == 503 and "PAS été prise en compte" in refused.text
    retried = client.post(link(REF, "rencontre/1"), data={"choix": "1"})
    assert retried.status_code == 303 and retried.headers["Location"].endswith("&fait=rencontre#confirmation")
    assert meetings.meetings_of(read_history(kept, REF))[0].state == meetings.ACCEPTED
