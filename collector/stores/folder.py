"""The data folder as the store: the default, embedded one (one server).

Every method delegates to the modules that have always kept the data folder
(sequence.py, idempotency.py, records.py, dossier.py, ratelimit.py), so the folder's
layout and its guarantees (durable.py: temporary file, fsync, link, fsync of the folder)
are exactly theirs.
"""

from __future__ import annotations

import os
from typing import Any

from .. import dossier, idempotency, records, sequence
from ..durable import TMP_DIR_NAME
from ..ratelimit import RateLimiter
from ..sequence import STATE_DIR
from .base import FORM_LIMITER
from .folder_dossier_posts import FolderDossierPosts
from .folder_outbox import FolderOutbox
from .folder_reviewers import FolderReviewers
from .folder_histories import FolderHistories, FolderVersions
from .folder_retention import FolderRetention
from .folder_link_requests import FolderLinkRequests
from .folder_review_source import FolderReviewSource


class FolderStore:
    kind = "dossier"
    shares_everything = True

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.outbox = FolderOutbox(self)
        self.reviewers = FolderReviewers(data_dir)
        self.histories, self.versions = FolderHistories(data_dir), FolderVersions(data_dir)
        self.retention = FolderRetention(self)
        self.link_requests = FolderLinkRequests(data_dir)
        self.review_source = FolderReviewSource(data_dir)
        self.dossier_posts = FolderDossierPosts(data_dir)

    def lookup_submission(self, submission_id: str) -> str | None:
        return idempotency.lookup(self.data_dir, submission_id)

    def reference_for(self, submission_id: str, prefix: str) -> tuple[str, bool]:
        fresh = sequence.next_reference(self.data_dir, prefix)
        reference = idempotency.claim(self.data_dir, submission_id, fresh)  # another post's claim wins
        return reference, reference == fresh

    def release_submission(self, submission_id: str, reference: str) -> None:
        idempotency.release(self.data_dir, submission_id, reference)

    def write_record(self, record: dict[str, Any]) -> bool:
        path = records.record_path(self.data_dir, record["reference"])
        try:
            records.write_record(self.data_dir, record)
        except FileExistsError:
            if not os.path.isfile(path):  # something else holds the name: the folder is unusable
                raise OSError("submissions folder unusable") from None
            return False
        return True

    def read_record(self, reference: str) -> dict[str, Any] | None:
        path = records.record_path(self.data_dir, reference)
        if not os.path.exists(path):
            return None
        return records.read_record(path)

    def has_record(self, reference: str) -> bool:
        return os.path.exists(records.record_path(self.data_dir, reference))

    def latest_record(self, reference: str) -> dict[str, Any]:
        return dossier.latest_record(self.data_dir, reference)

    def references(self) -> list[str]:
        return [os.path.basename(path)[:-len(records.RECORD_SUFFIX)]
                for path in records.iter_record_paths(self.data_dir)]

    def record_file(self, reference: str) -> str | None:
        return records.record_path(self.data_dir, reference)

    def record_text(self, reference: str) -> bytes:
        with open(records.record_path(self.data_dir, reference), "rb") as handle:
            return handle.read()

    def submission_links(self) -> list[tuple[str, str]]:
        return sorted(idempotency.links(self.data_dir))

    def last_reference_number(self, prefix: str) -> int:
        return sequence.last_number(self.data_dir, prefix)

    def rate_limiter(self, name: str, limit: int, window: int, secret: str) -> RateLimiter:
        limiter = RateLimiter(self.data_dir, limit, window, secret)
        if name != FORM_LIMITER:  # one window size per file: old windows are purged by number
            limiter.path = os.path.join(self.data_dir, STATE_DIR, f"ratelimit-{name}.sqlite3")
        # (the form's limiter keeps its historical file, state/ratelimit.sqlite3)
        return limiter

    def check(self) -> str | None:
        probe = os.path.join(self.data_dir, TMP_DIR_NAME, f".healthz-{os.getpid()}")
        try:
            try:
                with open(probe, "wb") as handle:
                    handle.write(b"ok")
            finally:  # on a full disk the name is made but the write fails: remove it all the same
                if os.path.lexists(probe):
                    os.unlink(probe)
        except OSError:
            return "dossier de données non inscriptible"
        return None

    def close(self) -> None:
        return None
