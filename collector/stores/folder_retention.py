"""The purge on the data folder: each part of a dossier deleted by the file code that keeps it.

Which dossiers are old is the review index's answer, as purge has always asked it (the
index is the app's: it needs the command's app context, for the form that judges the
records); its warnings name the records it could not date.

A dossier is forgotten part by part: the lost-link requests waiting for its contact addresses
(retention.forget_link_requests), its submission ids (idempotency.release), its review
history (statuses.py), its mails wherever they are (mail/delivery.py and mail/lifecycle.py), its corrected
versions (dossier.py), and its record LAST, followed by an fsync of submissions/. The history's
lock (statuses.locked) is held from the history to the record: an event appended at the same
moment (a note, a porteur's reply, a correction), or a mail of the dossier queued then
(Outbox.queue_for_dossiers: a reply's notice, the catch-up, a lost link), waits, then finds no
record and is refused (statuses.NoRecord), or came first and goes with the rest; it never leaves
a history or a mail alone. The outbox's queue lock is held too from the mails to the record: the
mailer's batches of acknowledgements (delivery.queue_for_records) check each record under it.
The record is what makes a dossier old in the index: as long as any part is left, the record
is there, so a purge stopped half-way (a crash, a full disk, a
file it may not delete) leaves the dossier listed, and the next purge finds it and finishes
it. Deleting the record first would leave the history, versions and mails of a dossier no
purge could find any more. The unlinks of one dossier are journaled in the order made
(ext4, xfs), so the record never goes before the parts it stands for.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING

from .. import idempotency, records, statuses
from ..mail import delivery, lifecycle
from ..durable import fsync_dir
from .retention import Aged, Received, forget_link_requests

if TYPE_CHECKING:
    from .folder import FolderStore


class FolderRetention:
    def __init__(self, store: FolderStore) -> None:
        self.store = store

    def received_before(self, day: date) -> Aged:
        from ..review.catalog import is_older_than
        from ..review.index import Selection
        from ..review.indexing import app_index

        index = app_index()
        old = [Received(entry.reference, entry.received_at) for entry in index.select(Selection())
               if is_older_than(entry, day) and entry.received_at is not None]
        return Aged(old, index.warnings())

    def forget(self, references: Sequence[str]) -> Iterator[str]:
        data_dir = self.store.data_dir
        wanted = set(references)
        ids: dict[str, list[tuple[str, str]]] = defaultdict(list)  # one pass over ids/ for the whole purge
        for submission_id, target in idempotency.links(data_dir):
            if idempotency.dossier_of(target) in wanted:  # an older correction's id names `<REF>-V<N>`
                ids[idempotency.dossier_of(target)].append((submission_id, target))
        for reference in references:
            forget_link_requests(self.store, reference)  # first: the record is there to name the addresses
            for submission_id, target in ids[reference]:
                idempotency.release(data_dir, submission_id, target)
            with statuses.locked(data_dir, reference):  # appends and a dossier's mails wait, then find no record
                statuses.unlink_history_file(data_dir, reference)
                with delivery._queue_lock(data_dir):  # the mailer's acknowledgements check the record under it
                    self.store.outbox.forget(reference)  # the acknowledgement and the notification, their memory
                    lifecycle.remove_dossier_mails(data_dir, reference)  # the dossier's other mails
                    self.store.versions.remove(reference)
                    path = records.record_path(data_dir, reference)
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass  # removed meanwhile (a purge run at the same time): gone all the same
                    fsync_dir(os.path.dirname(path))
            statuses.remove_lock_file(data_dir, reference)
            yield reference
