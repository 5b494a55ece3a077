"""Histories and versions in the data folder: `reviews/<REF>.yaml` and `versions/<REF>/v<N>.yaml`.

Each method delegates to the file code of statuses.py and dossier.py, which has always
kept them: a history is rewritten atomically (durable.replace_file) under the
reference's flock, a version is published once (durable.write_new_file: temporary file,
fsync, `os.link`, which refuses a taken name, fsync of the folder).
"""

from __future__ import annotations

import os
from typing import Any

from .. import dossier, statuses
from ..records import read_record
from .histories import HistoryChange


def file_mark(path: str) -> tuple[int, int, int] | None:
    """A file's or folder's modification time, size and inode (None when gone): they change
    with every atomic rewrite of a history and every version linked into a folder."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class FolderHistories:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def read(self, reference: str) -> Any:
        return statuses.read_history_file(self.data_dir, reference)

    def append(self, reference: str, change: HistoryChange) -> dict[str, Any]:
        return statuses.append_to_history_file(self.data_dir, reference, change)

    def references(self) -> list[str]:
        return statuses.history_file_references(self.data_dir)

    def marks(self) -> dict[str, object]:
        return {reference: file_mark(statuses.history_path(self.data_dir, reference))
                for reference in statuses.history_file_references(self.data_dir)}

    def text(self, reference: str) -> bytes | None:
        path = statuses.history_path(self.data_dir, reference)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as handle:
            return handle.read()

    def remove(self, reference: str) -> bool:
        return statuses.remove_history_file(self.data_dir, reference)


class FolderVersions:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def numbers(self, reference: str) -> list[int]:
        return dossier.version_file_numbers(self.data_dir, reference)

    def marks(self) -> dict[str, object]:
        folder = os.path.join(self.data_dir, dossier.VERSIONS_DIR)
        try:
            references = os.listdir(folder)
        except FileNotFoundError:
            return {}
        return {reference: file_mark(os.path.join(folder, reference)) for reference in references
                if statuses.REFERENCE_PATTERN.match(reference)}  # never versions/tmp/, a folder of no dossier

    def read(self, reference: str, number: int) -> dict[str, Any]:
        return read_record(dossier.version_path(self.data_dir, reference, number))

    def text(self, reference: str, number: int) -> bytes:
        with open(dossier.version_path(self.data_dir, reference, number), "rb") as handle:
            return handle.read()

    def write(self, reference: str, number: int, document: bytes) -> None:
        dossier.write_version_file(self.data_dir, reference, number, document)

    def remove(self, reference: str) -> int:
        return dossier.remove_version_files(self.data_dir, reference)
