"""Each host's review index (state/index.sqlite3) never keeps what the store no longer holds:
a purge wipes its dossiers from its own host's index at once, bytes included; every other
host's mailer syncs its index within COLLECTOR_INDEX_SYNC_SECONDS; a sync that fails once
leaves no index stale (the changes it was told of are looked at again)."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest

from collector import appstate
from collector.config import ConfigError
from collector.records import write_record
from collector.review.index_upkeep import SYNC_ENV, IndexUpkeep, sync_seconds
from collector.review.indexing import app_index
from collector.stores.base import StoreUnavailable
from tests.review.factory import make_record
from tests.review.mailer_process import mailer
from tests.stores.test_purge import (  # noqa: F401 - fixtures
    OLD, PURGED, TODAY, YOUNG, kept, make_host, store_kind, two_dossiers)
from tests.stores.test_review_two_hosts import hosts, previewed_clock, submit  # noqa: F401 - fixtures
from tests.stores.test_two_hosts import host_env


def index_bytes(data_dir: str) -> bytes:
    """The index file and its write-ahead log, as a disk holds them."""
    found = b""
    for suffix in ("", "-wal"):
        try:
            with open(os.path.join(data_dir, "state", "index.sqlite3" + suffix), "rb") as handle:
                found += handle.read()
        except FileNotFoundError:
            pass
    return found


def rows_of(data_dir: str, reference: str) -> list[bytes]:
    """What the index keeps of a dossier that names a person: its contact e-mail, its summary
    (name, e-mail, organisation…) and its search text, as the file stores them (UTF-8)."""
    with sqlite3.connect(os.path.join(data_dir, "state", "index.sqlite3")) as db:
        summary, = db.execute("SELECT summary FROM details WHERE name = ?", (reference,)).fetchone()
        search, = db.execute("SELECT search FROM texts WHERE name = ?", (reference,)).fetchone()
    email = json.loads(summary)["answers"]["contact_email"]
    return [text.encode("utf-8") for text in (email, summary, search)]


def held(data_dir: str, rows: list[bytes]) -> list[bytes]:
    content = index_bytes(data_dir)
    return [row for row in rows if row in content]


def test_a_purge_wipes_its_dossiers_from_its_own_hosts_index_file_at_once(kept, make_host, two_dossiers, data_dir):
    host = make_host()
    with host.app_context():
        assert app_index().total() == 2  # the index is made, with both dossiers
    old, young = rows_of(data_dir, OLD), rows_of(data_dir, YOUNG)
    assert held(data_dir, old) == old
    result = host.test_cli_runner().invoke(args=["purge", "--today", TODAY])
    assert result.exit_code == 0 and result.stdout == PURGED, result.output
    assert held(data_dir, old) == [], "no byte of the purged dossier's contact is left in the index's files"
    assert held(data_dir, young) == young
    with sqlite3.connect(os.path.join(data_dir, "state", "index.sqlite3")) as db:
        assert [name for (name,) in db.execute("SELECT name FROM records")] == [YOUNG]


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_every_hosts_mailer_wipes_a_dossier_purged_through_another_host(
        database_url, kept, make_host, two_dossiers, tmp_path):
    first, other_folder = make_host(), str(tmp_path / "hote-b")
    os.mkdir(other_folder)
    other = make_host(other_folder)
    with other.app_context():
        assert app_index().total() == 2
    old = rows_of(other_folder, OLD)
    assert held(other_folder, old) == old
    with mailer(host_env(database_url, other_folder, COLLECTOR_INDEX_SYNC_SECONDS="1",
                         COLLECTOR_SECRET_KEY=first.config["SECRET_KEY"]), str(tmp_path)):
        assert first.test_cli_runner().invoke(args=["purge", "--today", TODAY]).stdout == PURGED
        deadline = time.monotonic() + 30
        while held(other_folder, old) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held(other_folder, old) == [], "the other host's mailer synced its index"


@pytest.mark.parametrize("given, seconds", [({}, 60.0), ({SYNC_ENV: "1"}, 1.0), ({SYNC_ENV: " 300 "}, 300.0)])
def test_the_mailers_sync_delay_is_a_minute_unless_set(given, seconds):
    assert sync_seconds(given) == seconds


@pytest.mark.parametrize("text", ["souvent", "0", "0.5", "3601", "-5"])
def test_a_sync_delay_that_is_not_between_1_and_3600_seconds_is_refused_in_french(text):
    with pytest.raises(ConfigError, match="COLLECTOR_INDEX_SYNC_SECONDS : un nombre de secondes entre 1 et 3600"):
        sync_seconds({SYNC_ENV: text})


def fail_once(monkeypatch, target, name: str, error: Exception) -> None:
    original = getattr(target, name)

    def failing(*args, **kwargs):
        monkeypatch.setattr(target, name, original)
        raise error

    monkeypatch.setattr(target, name, failing)


def totals_after_a_failed_sync(host, add_dossier, fail_once_now, failure: type[Exception]) -> list[int]:
    """Two dossiers indexed (twice: from then on only changes are looked at), a third added,
    a sync that fails once (`fail_once_now`), then the index's total at three uses."""
    for _twice in range(2):
        assert app_index(host).total() == 2
    add_dossier()
    fail_once_now()
    with pytest.raises(failure):
        app_index(host).sync()
    return [app_index(host).total() for _again in range(3)]


def test_on_postgresql_a_sync_that_failed_once_leaves_no_index_stale(hosts, monkeypatch):
    host_a, host_b = hosts
    for title in ("Un", "Deux"):
        submit(host_a, title)
    source = appstate.store(host_b).review_source
    assert totals_after_a_failed_sync(
        host_b, lambda: submit(host_a, "Trois"),
        lambda: fail_once(monkeypatch, source, "signatures", StoreUnavailable("PostgreSQL injoignable")),
        StoreUnavailable) == [3, 3, 3]


@pytest.mark.parametrize("store_kind", ["folder"])
def test_in_the_data_folder_a_sync_that_failed_once_leaves_no_index_stale(data_dir, make_host, monkeypatch):
    host = make_host()
    form = host.config["FORM"]
    for number in (1, 2):
        write_record(data_dir, make_record(form, number))
    real_stat = os.stat

    def stat_fails_once(path, *args, **kwargs):  # the new record's stat: an I/O error, once
        if str(path).endswith("AMI-2021-0003.yaml"):
            monkeypatch.setattr(os, "stat", real_stat)
            raise OSError(5, "Input/output error", str(path))
        return real_stat(path, *args, **kwargs)

    assert totals_after_a_failed_sync(
        host, lambda: write_record(data_dir, make_record(form, 3)),
        lambda: monkeypatch.setattr(os, "stat", stat_fails_once), OSError) == [3, 3, 3]


@pytest.mark.parametrize("store_kind", ["folder"])
def test_the_mailers_upkeep_logs_a_failed_sync_and_tries_again_a_period_later(data_dir, make_host, caplog):
    host = make_host()
    os.makedirs(os.path.join(data_dir, "state", "index.sqlite3"))  # an index sqlite can neither open nor replace
    now = [0.0]
    upkeep = IndexUpkeep(host, period=60, clock=lambda: now[0])
    failed = "review index: not brought in step with the store"
    for moment in (0.0, 30.0, 59.0, 60.0):
        now[0] = moment
        upkeep()  # never raises: the mailer goes on
    assert [record.getMessage().startswith(failed) for record in caplog.records].count(True) == 2
