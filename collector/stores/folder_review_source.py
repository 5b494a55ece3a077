"""The review index's source in the data folder: `submissions/*.yaml` and `reviews/*.yaml`.

A file's signature is its (mtime, size, inode): a rewrite (os.replace) or a hand edit
changes it. inotify (review/folder_watch.py) names the files changed since this process
last looked, so a sync stats only those; the records are read with records.read_record.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from ..records import RECORD_SUFFIX, SUBMISSIONS_DIR, read_record, record_path
from ..statuses import REVIEWS_DIR
from .folder_histories import FolderHistories, FolderVersions
from .review_source import Kind, Signature


def signature(stat: os.stat_result) -> Signature:
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def scan(folder: str) -> dict[str, Signature]:
    """Every `*.yaml` file of a folder (name without suffix) with its signature.

    Every file is stat'ed (a hand edit in place changes no folder's mtime), relative to the
    open folder (`dir_fd`: no path to build per file); the loop does nothing else, as a new
    process runs it over every record before each command."""
    found: dict[str, Signature] = {}
    suffix = len(RECORD_SUFFIX)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return found
    try:
        for name in os.listdir(fd):
            if name[-suffix:] == RECORD_SUFFIX and name[0] != ".":
                try:
                    stat = os.stat(name, dir_fd=fd)
                except FileNotFoundError:
                    continue
                found[name[:-suffix]] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    finally:
        os.close(fd)
    return found


class FolderReviewSource:
    key = ""
    forkable = True

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def folder(self, kind: Kind) -> str:
        return os.path.join(self.data_dir, SUBMISSIONS_DIR if kind == "records" else REVIEWS_DIR)

    def signatures(self, kind: Kind) -> dict[str, Signature]:
        return scan(self.folder(kind))

    def changes(self, kind: Kind) -> dict[str, Signature | None] | None:
        from ..review.folder_watch import WATCH  # here: only the review tools watch the folders

        folder = self.folder(kind)
        names = WATCH.changes(folder)  # asked before any full scan: nothing changed meanwhile is missed
        if names is None:
            return None
        changed: dict[str, Signature | None] = {}
        for name in names:
            if name.endswith(RECORD_SUFFIX):
                try:
                    changed[name[:-len(RECORD_SUFFIX)]] = signature(os.stat(os.path.join(folder, name)))
                except FileNotFoundError:
                    changed[name[:-len(RECORD_SUFFIX)]] = None
        return changed

    def forget(self) -> None:
        """The caller's sync failed after `changes` consumed inotify's names: scan both folders next time."""
        from ..review.folder_watch import WATCH

        for kind in ("records", "histories"):
            WATCH.forget(self.folder(kind))  # type: ignore[arg-type]

    def read_record(self, reference: str) -> dict[str, Any]:
        return read_record(record_path(self.data_dir, reference))

    def reader(self, records: Collection[str], histories: Collection[str]) -> FolderReviewSource:
        return self  # each file is read when asked

    @property
    def versions(self) -> FolderVersions:
        return FolderVersions(self.data_dir)

    @property
    def histories(self) -> FolderHistories:
        return FolderHistories(self.data_dir)
