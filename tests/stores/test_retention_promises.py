"""The RGPD purge's store side (collector/stores/*_retention.py) keeps its promises beyond the
command: a dossier is old when received strictly before the Paris midnight of the day, oldest
first, its time in Paris; nothing is forgotten until the iterator is consumed; on the data
folder the record goes last and its removal is flushed before the dossier is reported gone (a
record already gone is gone all the same); on PostgreSQL a refused delete names no dossier in
the log and says in French that nothing was deleted, and a purge waits for the history's lock."""

from __future__ import annotations

import logging
import os
import threading
from datetime import date, datetime, timedelta

import psycopg
import pytest

from collector import records
from collector.statuses import PARIS
from collector.stores.base import StoreUnavailable
from collector.stores.postgres_histories import _LOCK
from collector.stores.retention import Received
from tests.review.factory import make_record

from .test_purge import GONE, OLD, ON_POSTGRESQL, ON_THE_DATA_FOLDER, YOUNG, holdings, refuse_deletes
from .test_purge import kept, make_host, store_kind, two_dossiers  # noqa: F401 - fixtures

MIDNIGHT = datetime(2021, 4, 15, tzinfo=PARIS)


def fsync_fails_on(monkeypatch, folder: str) -> None:
    """os.fsync raises EIO on a descriptor of `folder` only."""
    opened, real_open, real_fsync = set(), os.open, os.fsync

    def open_noting(path, *args, **kwargs):
        descriptor = real_open(path, *args, **kwargs)
        if os.path.realpath(path) == os.path.realpath(folder):
            opened.add(descriptor)
        return descriptor

    def fsync_failing(descriptor):
        if descriptor in opened:
            raise OSError(5, "Input/output error")
        return real_fsync(descriptor)

    monkeypatch.setattr(os, "open", open_noting)
    monkeypatch.setattr(os, "fsync", fsync_failing)


def test_nothing_is_forgotten_until_the_purge_is_consumed(kept, two_dossiers):
    before = holdings(kept, OLD)
    kept.retention.forget([OLD])
    assert holdings(kept, OLD) == before
    assert list(kept.retention.forget([OLD])) == [OLD] and holdings(kept, OLD) == GONE


@ON_THE_DATA_FOLDER
def test_on_the_data_folder_a_record_already_gone_is_reported_gone_with_the_rest_removed(kept, two_dossiers, data_dir):
    os.unlink(records.record_path(data_dir, OLD))  # a purge running at the same time removed it
    assert list(kept.retention.forget([OLD])) == [OLD]
    assert holdings(kept, OLD) == GONE


@ON_THE_DATA_FOLDER
def test_on_the_data_folder_a_record_removal_not_flushed_is_not_reported_gone(kept, two_dossiers, data_dir,
                                                                            monkeypatch):
    fsync_fails_on(monkeypatch, os.path.join(data_dir, records.SUBMISSIONS_DIR))
    purge = kept.retention.forget([OLD, YOUNG])
    with pytest.raises(OSError, match="Input/output error"):
        next(purge)
    monkeypatch.undo()
    assert kept.has_record(YOUNG), "the purge stopped at the first dossier"


@ON_POSTGRESQL
def test_on_postgresql_old_means_received_before_the_paris_midnight_oldest_first(kept, make_host):
    form = make_host().config["FORM"]
    for number, moment in ((1, MIDNIGHT - timedelta(seconds=1)), (2, MIDNIGHT), (3, MIDNIGHT - timedelta(days=3)),
                           (4, MIDNIGHT - timedelta(days=3))):
        assert kept.write_record(make_record(form, number, when=moment))
    aged = kept.retention.received_before(date(2021, 4, 15))
    assert aged.dossiers == [Received("AMI-2021-0003", MIDNIGHT - timedelta(days=3)),
                             Received("AMI-2021-0004", MIDNIGHT - timedelta(days=3)),
                             Received("AMI-2021-0001", MIDNIGHT - timedelta(seconds=1))]
    assert [item.received_at.tzinfo for item in aged.dossiers] == [PARIS] * 3 and aged.warnings == []


@ON_POSTGRESQL
def test_on_postgresql_a_refused_delete_says_nothing_was_deleted_and_logs_no_reference(
        kept, two_dossiers, database_url, caplog):
    refuse_deletes(database_url, "records")
    with pytest.raises(StoreUnavailable) as refused:
        list(kept.retention.forget([OLD]))
    assert str(refused.value) == ("PostgreSQL a refusé la suppression (RaiseException) : rien de ce dossier "
                                  "n'a été supprimé")
    assert [(record.levelno, record.getMessage()) for record in caplog.records
            if record.name == "collector.stores"] == [(logging.WARNING, "postgresql refused a purge: RaiseException")]


@ON_POSTGRESQL
def test_on_postgresql_a_purge_waits_for_the_historys_lock_and_takes_what_it_protected(
        kept, two_dossiers, database_url):
    gone = []
    with psycopg.connect(database_url) as holder:  # a correction stored on another host, under the same lock
        holder.execute(_LOCK, (OLD,))
        holder.execute("INSERT INTO versions (reference, number, document, document_sha256) "
                       "VALUES (%s, 3, 'version: 3', 'x')", (OLD,))
        purging = threading.Thread(target=lambda: gone.extend(kept.retention.forget([OLD])))
        purging.start()
        purging.join(1.0)
        assert purging.is_alive() and gone == [], "the purge waits for the lock"
        holder.commit()
    purging.join(30)
    assert gone == [OLD] and holdings(kept, OLD) == GONE
