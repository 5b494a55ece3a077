"""A porteur's posts in the data folder: version file, history file and ids/ link.

Under the history's flock (statuses.locked), in this order: the id's link is looked up
(claimed: nothing written), the history is read and `change` checks it, the version is
published (durable.write_new_file: temporary file, fsync, `os.link`, fsync of the folder),
the history is rewritten (durable.replace_file), then the id is linked to the reference
(idempotency.claim). Three files cannot change at once; this order leaves only states a
retry finishes: a version without its event is completed by the next correction (dossier.py
adds the missing `correction` event, under this same lock), and a missing link only means
a retry is recognised by its content (the same answers make no new version) instead of its id.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import dossier, idempotency, statuses
from .dossier_posts import EventPending
from .histories import HistoryChange

log = logging.getLogger("collector.stores")


class FolderDossierPosts:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def claimed(self, submission_id: str) -> str | None:
        return idempotency.lookup(self.data_dir, submission_id)

    def write(self, reference: str, change: HistoryChange, *, version: tuple[int, bytes] | None = None,
              submission_id: str | None = None) -> dict[str, Any] | None:
        with statuses.locked(self.data_dir, reference):
            if submission_id and self.claimed(submission_id) is not None:
                return None
            statuses.refuse_without_record_file(self.data_dir, reference)  # purged meanwhile: nothing written
            history = change(statuses.read_history_file(self.data_dir, reference))
            if version is not None:
                dossier.write_version_file(self.data_dir, reference, *version)  # FileExistsError: nothing written
            try:
                statuses.write_history_file(self.data_dir, reference, history)
            except OSError as error:
                if version is None:
                    raise  # nothing stored
                raise EventPending(f"{reference}: version {version[0]} stored, event pending") from error
            if submission_id:
                try:
                    idempotency.claim(self.data_dir, submission_id, reference)
                except OSError as error:  # the post is stored: only its id is not remembered
                    log.error("submission id of a post on %s not remembered (%s)", reference, type(error).__name__)
            return history
