"""The data folder's lost-link requests: `$DATA/link-requests/<id>.json`, as link_requests.py keeps them.

Every method delegates to link_requests.py's file code (a request written by
durable.write_new_file: temporary file, fsync, `os.link`, fsync of the folder; removed with
an fsync of the folder). A claim needs no lock: one mailer works on a data folder at a time
(its flock on state/mailer.lock, mail/mailer.py).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime

from .. import link_requests
from .link_requests import Claim, IndexLookup, mailboxes, only_for_purged
from .folder_poll import FolderWatch
from .outbox import Watch


class FolderLinkRequests:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def write(self, address: str) -> str:
        return link_requests.write_request(self.data_dir, address)

    def write_unless_full(self, address: str, limit: int) -> str | None:
        return link_requests.write_request_unless_full(self.data_dir, address, limit)

    def waiting(self) -> list[str]:
        return link_requests.pending_requests(self.data_dir)

    def waiting_at_least(self, count: int) -> bool:
        return link_requests.waiting_at_least(self.data_dir, count)

    @contextmanager
    def claim(self, skip: Collection[str] = ()) -> Iterator[Claim | None]:
        claim = next((Claim(request_id, *(content or (None, None)))
                      for request_id, content in link_requests._waiting(self.data_dir)
                      if request_id not in skip), None)
        yield claim
        if claim is not None and claim.handled:
            link_requests._remove(self.data_dir, claim.id)

    def remove_expired(self, now: datetime | None = None) -> int:
        return link_requests._remove_expired_files(self.data_dir, now)

    def remove_for_addresses(self, addresses: Collection[str], purged: Collection[str]) -> int:
        wanted = mailboxes(addresses)
        removed = 0
        for request_id, content in link_requests._waiting(self.data_dir):
            if content is not None and only_for_purged(content[0], wanted, self, purged):
                removed += link_requests._remove(self.data_dir, request_id)  # fsync of the folder
        return removed

    def contacts(self, address: str, lookup: IndexLookup | None = None) -> dict[str, list[str]]:
        return link_requests.contacts_of(self.data_dir, address, lookup)

    def watch(self) -> Watch:

        return FolderWatch(os.path.join(self.data_dir, link_requests.REQUESTS_DIR))
