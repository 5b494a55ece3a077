"""Readable, sequential references (AMI-2021-0042), unique across gunicorn workers, never
handed out twice.

A counter file in $DATA/state, read and incremented under `fcntl.flock`, and fsynced
before the reference is used: a power cut cannot make it go back. Should it go back
anyway (lost, restored from an old backup, edited by hand), it is rebuilt from what is
on disk: a reference that names anything there (a record, a review history, a mail, an
`ids/` link) is never given again, so a porteur who retries a failed post can never be
shown another porteur's receipt.

- Each candidate is checked against the files named after a reference (a few `stat`
  calls); if one exists, the counter is behind the disk and is rebuilt at once.
- A missing or unreadable counter is rebuilt from the highest number found in
  submissions/, reviews/, the outbox folders and the targets of the ids/ links.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterable

from .durable import fsync_dir, replace_file
from .idempotency import IDS_DIR, linked_references
from .mail import FAILED, KINDS, OUTBOX, QUEUED, SENDING, SENT
from .records import SUBMISSIONS_DIR
from .statuses import REVIEWS_DIR

STATE_DIR = "state"
COUNTER_FILE = "sequence"
# Folders whose files are named after a reference (`<REF>.yaml`, `<REF>.<kind>.eml`…).
NAMED_BY_REFERENCE = (SUBMISSIONS_DIR, REVIEWS_DIR, OUTBOX, SENDING, SENT, FAILED, QUEUED)
_PER_REFERENCE = ((SUBMISSIONS_DIR, ".yaml"), (REVIEWS_DIR, ".yaml"),
                  *((folder, f".{kind}.eml") for folder in (OUTBOX, SENDING, SENT, FAILED) for kind in KINDS))


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number:04d}"


def _numbers(names: Iterable[str], prefix: str) -> Iterable[int]:
    pattern = re.compile(re.escape(prefix) + r"-(\d+)(?:\.|$)")
    for name in names:
        if match := pattern.match(name):
            yield int(match.group(1))


def highest_on_disk(data_dir: str, prefix: str) -> int:
    """The highest reference number anything in the data folder is named after (0: none)."""
    highest = 0
    for folder in NAMED_BY_REFERENCE:
        try:
            names = os.listdir(os.path.join(data_dir, folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        highest = max(highest, *_numbers(names, prefix), 0)
    if os.path.isdir(os.path.join(data_dir, IDS_DIR)):
        highest = max(highest, *_numbers(linked_references(data_dir), prefix), 0)
    return highest


def names_anything(data_dir: str, reference: str) -> bool:
    """True when a record, a history or a mail of `reference` is on disk."""
    return any(os.path.lexists(os.path.join(data_dir, folder, reference + suffix))
               for folder, suffix in _PER_REFERENCE)


def last_number(data_dir: str, prefix: str) -> int:
    """The highest reference number handed out: the counter, or what the disk names if that is higher."""
    try:
        with open(os.path.join(data_dir, STATE_DIR, COUNTER_FILE), encoding="ascii", errors="replace") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        text = ""
    return max(int(text) if text.isdigit() else 0, highest_on_disk(data_dir, prefix))


def set_counter(data_dir: str, number: int) -> None:
    """Write the counter durably (a copy of another store's): the next reference is number + 1."""
    replace_file(os.path.join(data_dir, STATE_DIR), COUNTER_FILE, f"{number}\n".encode("ascii"))


def _open_counter(data_dir: str) -> int:
    folder = os.path.join(data_dir, STATE_DIR)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, COUNTER_FILE)
    try:
        return os.open(path, os.O_RDWR)
    except FileNotFoundError:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        fsync_dir(folder)  # the counter's name survives a power cut too
        return fd


def next_reference(data_dir: str, prefix: str) -> str:
    """Take the next free reference; concurrent workers never get the same one."""
    fd = _open_counter(data_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        number = int(text) if text.isdigit() else highest_on_disk(data_dir, prefix)
        while True:
            number += 1
            reference = format_reference(prefix, number)
            if not names_anything(data_dir, reference):
                break
            number = max(number, highest_on_disk(data_dir, prefix))  # the counter went back: catch up
        encoded = f"{number}\n".encode("ascii")
        os.pwrite(fd, encoded, 0)
        os.ftruncate(fd, len(encoded))
        os.fsync(fd)  # durable before the reference is used: the counter never goes back
        return reference
    finally:
        os.close(fd)  # closing releases the lock
