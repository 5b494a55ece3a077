"""The running app's review index: one validator per app, the writers' hooks, `reindex`.

Pages and commands get the index with `app_index()`. When a record is stored
(`events.record_stored`) or a history written (`events.history_written`), the index is
updated at once; a failure there is logged and changes nothing that was saved (the next
use re-reads the file).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app, g, has_request_context
from flask.cli import with_appcontext

from .. import events
from .. import appstate
from ..addresses import address_key
from ..owner import as_data_owner
from .index import RecordIndex
from .validity import record_validator

log = logging.getLogger("collector")
_EXTENSION = "review_index_validator"


def app_index(app: Flask | None = None, follow: bool | None = None) -> RecordIndex:
    """The index of the app's store (kept in this host's data folder), judging records with the app's form.

    Within one request (or command) the same index is returned, so it is brought in step
    with the files once, however many queries the page makes. It follows the store from one
    use to the next (`RecordIndex.follow`) when asked to, and by default inside a request (a
    web worker serves many); a command outside any request (`list`, `show`…) looks once.
    """
    given = app
    app = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    if given is None and g and "review_index" in g:
        return g.review_index
    validator = app.extensions.get(_EXTENSION)
    if validator is None:
        validator = app.extensions[_EXTENSION] = record_validator(appstate.form(app), trust_hash=True)
    index = RecordIndex(appstate.data_dir(app), validator, appstate.store(app),
                        follow=has_request_context() if follow is None else follow)
    if given is None:
        g.review_index = index
    return index


def _on_record_stored(sender: Any, record: dict[str, Any] | None = None, path: str | None = None, **_extra: Any) -> None:
    if isinstance(sender, Flask) and record is not None and path is not None:
        app_index(sender).note_record(record, path)


def _on_history_written(sender: Any, reference: str | None = None, status: str | None = None, **_extra: Any) -> None:
    if isinstance(sender, str) and reference and status:
        try:
            RecordIndex(sender).note_history(reference, status)
        except Exception as error:  # noqa: BLE001 - the history is on disk; the next use re-reads it
            log.warning("review index not updated for %s (%s); it catches up on its next use",
                        reference, type(error).__name__)


@click.command("reindex")
@with_appcontext
@as_data_owner
@click.option("--processes", type=click.IntRange(1, 64), default=None,
              help="Processus qui lisent les fichiers (par défaut : un par cœur).")
def reindex_command(processes: int | None) -> None:
    """Rebuild the review index from the store's records (safe at any time, even while the collector runs)."""
    started = time.perf_counter()
    count = app_index().rebuild(processes or os.cpu_count() or 1)
    click.echo(f"Index reconstruit : {count} candidature(s) lue(s) en {time.perf_counter() - started:.1f} s.")


def init_app(app: Flask) -> None:
    """Update the index when records and histories are written; add `flask reindex`."""
    events.record_stored.connect(_on_record_stored, weak=False)
    events.history_written.connect(_on_history_written, weak=False)
    app.cli.add_command(reindex_command)
    app.extensions[appstate.EMAIL_LOOKUP] = email_lookup(app)


def email_lookup(app: Flask) -> Callable[[str], list[str] | None]:
    """The review index's references for an address's e-mail key, for the mailer's lost-link
    requests; None when there is no index file yet or it cannot be read (the records are then read)."""

    def lookup(address: str) -> list[str] | None:
        index = app_index(app, follow=True)  # a fresh one each time, in step first; the mailer asks again later
        if not os.path.exists(index.path):
            return None
        try:
            return index.references_with_email_key(address_key(address))
        except sqlite3.Error as error:
            log.warning("mail: review index unusable (%s); the records are read instead", type(error).__name__)
            return None

    return lookup
