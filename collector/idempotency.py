"""One submission id, one record: a double click, a refresh or the back button resends
the same id, and gets the confirmation of the record it already made.

`$DATA/ids/<submission id>` is a symbolic link whose target is the reference the id was
given. Creating a symlink is atomic and exclusive (it fails if the name exists), so when
two posts with the same id race, exactly one mapping wins and both answer with its
reference; a reader never sees a half-written mapping. The link is made just before the
record is written, and the record's own durable write (fsync of the file and of its
folder) commits the filesystem journal that holds the link too (ext4, xfs), so no extra
fsync is paid per submission.

A link never points at a reference whose record is missing: if the record cannot be
written, the link is taken back (`release`), and a link left by a process that died in
between is removed when the collector starts (`sweep_dangling`). A retry of that post
then gets a new reference, never one that another post may have been given since.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator

from .records import record_path

IDS_DIR = "ids"
_REFERENCE = re.compile(r"[A-Z0-9-]{1,40}")
_CORRECTION_TARGET = re.compile(r"([A-Z0-9-]{1,40})-V[0-9]{1,4}")


def _path(data_dir: str, submission_id: str) -> str:
    return os.path.join(data_dir, IDS_DIR, submission_id)


def lookup(data_dir: str, submission_id: str) -> str | None:
    """The reference already given to this submission id, if any."""
    try:
        target = os.readlink(_path(data_dir, submission_id))
    except (FileNotFoundError, OSError):
        return None
    return target if _REFERENCE.fullmatch(target) else None


def claim(data_dir: str, submission_id: str, reference: str) -> str:
    """Give `reference` to the id, unless it already has one; return the one that holds."""
    path = _path(data_dir, submission_id)
    try:
        os.symlink(reference, path)
        return reference
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return claim(data_dir, submission_id, reference)
    except FileExistsError:
        existing = lookup(data_dir, submission_id)
        if existing is None:
            raise
        return existing


def dossier_of(target: str) -> str:
    """The reference a link's target stands for: correction ids were linked to `<REF>-V<N>`
    before they were claimed for the reference itself (stores/dossier_posts.py)."""
    match = _CORRECTION_TARGET.fullmatch(target)
    return match.group(1) if match else target


def release(data_dir: str, submission_id: str, reference: str) -> None:
    """Take back the id's link to `reference` (its record could not be written)."""
    if lookup(data_dir, submission_id) == reference:
        try:
            os.unlink(_path(data_dir, submission_id))
        except FileNotFoundError:
            pass


def _links(data_dir: str) -> Iterator[tuple[os.DirEntry[str], str]]:
    try:
        entries = list(os.scandir(os.path.join(data_dir, IDS_DIR)))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            yield entry, os.readlink(entry.path)
        except OSError:  # not a link, or removed meanwhile
            continue


def links(data_dir: str) -> Iterator[tuple[str, str]]:
    """Every (submission id, reference) pair the ids/ folder holds."""
    return ((entry.name, target) for entry, target in _links(data_dir))


def linked_references(data_dir: str) -> Iterator[str]:
    """Every reference an ids/ link points at."""
    return (target for _entry, target in _links(data_dir))


def _remove(entries: Iterable[os.DirEntry[str]]) -> int:
    removed = 0
    for entry in entries:
        try:
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            continue
    return removed


def sweep_dangling(data_dir: str, older_than_seconds: float) -> int:
    """Remove the links (older than the limit) whose record does not exist; how many."""
    limit = time.time() - older_than_seconds
    dangling = []
    for entry, target in _links(data_dir):
        try:
            if (not os.path.exists(record_path(data_dir, target))
                    and entry.stat(follow_symlinks=False).st_mtime <= limit):
                dangling.append(entry)
        except FileNotFoundError:
            continue
    return _remove(dangling)


def remove_for_references(data_dir: str, references: Iterable[str]) -> int:
    """Remove every link that points at one of `references` (purge); how many."""
    wanted = set(references)
    return _remove(entry for entry, target in _links(data_dir) if target in wanted)
