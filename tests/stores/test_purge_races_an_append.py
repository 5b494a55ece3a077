"""An event appended in the very instant of its dossier's purge, on both stores: it came wholly
before the purge (and went with the rest), or it waited for the history's lock, which the purge
holds until the record is gone, and is refused (statuses.NoRecord, checked under that lock).
Never a history without its record.

The interleaving is real: the append passes its first check (the record is there), then waits on
the lock while the purge, ahead of it, deletes the dossier. On the data folder the purge is held
inside its locked section (fault injection on os.unlink, at the history file); on PostgreSQL the
test holds the advisory lock while the purge, then the append, queue behind it (PostgreSQL grants
a lock to its waiters in the order they came)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from collector import statuses
from collector.dossier import write_porteur_reply
from collector.formdef import load_form
from collector.statuses import StatusError, add_note, history_path
from collector.stores.postgres_histories import _LOCK as HISTORY_LOCK
from tests.review.factory import make_record
from tests.support.stores import store_opener

from .test_histories import store_kind  # noqa: F401 - fixture: each test on both stores

REFERENCE = "AMI-2021-0001"
APPENDS: dict[str, Callable] = {
    "a reviewer's note": lambda store: add_note(store, REFERENCE, "Rappeler la structure lundi.", by="alice"),
    "a porteur's reply": lambda store: write_porteur_reply(store, REFERENCE, "Voici le budget détaillé."),
}


@pytest.fixture
def kept(store_kind, data_dir, request):
    store = store_opener(store_kind, data_dir, request)()
    assert store.write_record(make_record(load_form(), 1))
    add_note(store, REFERENCE, "Dossier complet.", by="alice")
    yield store
    store.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def flock_waiters(path: str) -> int:
    """How many flock requests wait on the file `path` (/proc/locks: `->` marks a blocked one)."""
    inode = f":{os.stat(path).st_ino} "
    with open("/proc/locks", encoding="ascii") as locks:
        return sum(1 for line in locks if "->" in line and inode in line)


def advisory_waiters(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                  ).fetchone()[0]


@contextmanager
def purge_ahead_of_the_append(store_kind, data_dir, request, monkeypatch) -> Iterator[tuple[Callable, Callable]]:
    """Keep the real purge of REFERENCE ahead on the history's lock; yields `purge_ahead()`, to call
    once the purge's thread runs (it returns when the purge holds the lock, or waits first in line
    for it), and `append_waits()`, to call once the append's thread runs (it returns when the append
    waits on that lock). Leaving the block lets the purge go on; the caller joins the threads."""
    if store_kind == "folder":
        inside, go = threading.Event(), threading.Event()
        unlink = os.unlink

        def held_unlink(path, *args, **kwargs):  # the purge, holding the lock, deletes the history
            if path == history_path(data_dir, REFERENCE) and not inside.is_set():
                inside.set()
                go.wait(30)
            return unlink(path, *args, **kwargs)

        monkeypatch.setattr(os, "unlink", held_unlink)
        lock = os.path.join(data_dir, statuses.LOCKS_DIR, f"review-{REFERENCE}.lock")
        yield (lambda: wait_until(inside.is_set, "the purge holds the lock"),
               lambda: wait_until(lambda: flock_waiters(lock) == 1, "the append waits"))
        go.set()
        return
    url = request.getfixturevalue("database_url")
    with psycopg.connect(url) as holder:  # one transaction holding the history's lock
        holder.execute(HISTORY_LOCK, (REFERENCE,))
        yield (lambda: wait_until(lambda: advisory_waiters(url) == 1, "the purge waits"),
               lambda: wait_until(lambda: advisory_waiters(url) == 2, "the purge, then the append, wait"))


def run_behind_the_purge(store, store_kind, data_dir, request, monkeypatch, late: Callable[[], None]) -> None:
    """Run the real purge of REFERENCE in a thread and, once it is ahead on the history's lock,
    `late` in another, which must then wait on that lock; return once both are done."""
    purge = threading.Thread(target=lambda: list(store.retention.forget([REFERENCE])))
    behind = threading.Thread(target=late)
    with purge_ahead_of_the_append(store_kind, data_dir, request, monkeypatch) as (purge_ahead, late_waits):
        purge.start()
        purge_ahead()
        behind.start()
        late_waits()
    purge.join(30)
    behind.join(30)


@pytest.mark.parametrize("append", APPENDS, ids=list(APPENDS))
def test_an_event_appended_during_the_purge_never_leaves_a_history_without_its_record(
        store_kind, kept, data_dir, request, monkeypatch, append):
    outcome: dict[str, object] = {}

    def appended() -> None:
        try:
            outcome["history"] = APPENDS[append](kept)
        except StatusError as error:
            outcome["refused"] = str(error)

    run_behind_the_purge(kept, store_kind, data_dir, request, monkeypatch, appended)
    assert not kept.has_record(REFERENCE)
    assert kept.histories.text(REFERENCE) is None, "no history without its record"
    assert outcome == {"refused": f"Aucune candidature ne porte la référence {REFERENCE}."}
