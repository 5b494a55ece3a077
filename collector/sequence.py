"""Readable, sequential references (AMI-2021-0042), unique across gunicorn workers, never
handed out twice.

A counter file in $DATA/state, read and incremented under `fcntl.flock`. A power cut must
not make it go back: a reference handed out may already be named by an `ids/` link that
the filesystem's journal made durable, and a retry of that post would then show another
porteur's receipt. Rather than an fsync of the counter on every post (a third of a post's
fsyncs, which are most of its time), numbers are reserved by blocks: `sequence.reserved`
holds the highest number that may have been handed out and the kernel's boot id, and is
written durably (durable.replace_file) before any number beyond the previous block is used.
Within one boot the counter file's last write is always what a process reads (the page
cache is shared); after a reboot, the only way its writes can have been lost, the counter
goes on after the reserved block: a few numbers may be skipped, none is given twice.

Should it go back anyway (lost, restored from an old backup, edited by hand), it is rebuilt
from what is on disk: a reference that names anything there (a record, a review history, a
mail, an `ids/` link) is never given again.

- Each candidate is checked against the files named after a reference (a few `stat`
  calls); if one exists, the counter is behind the disk and is rebuilt at once.
- A missing or unreadable counter is rebuilt from the highest number found in
  submissions/, reviews/, the outbox folders and the targets of the ids/ links; so is one
  without a readable reservation (the first post after an upgrade), then trusted if higher.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterable

from .durable import fsync_dir, replace_file
from .idempotency import IDS_DIR, linked_references
from .outbox_names import FAILED, KINDS, OUTBOX, QUEUED, SENDING, SENT
from .records import SUBMISSIONS_DIR
from .statuses import REVIEWS_DIR

STATE_DIR = "state"
COUNTER_FILE = "sequence"
RESERVED_FILE = "sequence.reserved"  # "<highest number that may have been handed out> <boot id>"
BLOCK = 16  # numbers reserved by one durable write
BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
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


def boot_id() -> str:
    """This boot of the kernel ("" where it cannot be told: then every block is a new boot's)."""
    try:
        with open(BOOT_ID_PATH, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _read_reserved(data_dir: str) -> tuple[int, str] | None:
    """(highest number reserved, boot id it was reserved in), or None if missing or unreadable."""
    try:
        with open(os.path.join(data_dir, STATE_DIR, RESERVED_FILE), encoding="ascii") as handle:
            number, boot = handle.read().split()
        return int(number), boot
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def next_reference(data_dir: str, prefix: str) -> str:
    """Take the next free reference; concurrent workers never get the same one."""
    fd = _open_counter(data_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        counted = int(text) if text.isdigit() else None
        this_boot, reserved = boot_id(), _read_reserved(data_dir)
        if reserved is None:  # nothing reserved to rely on: what the disk names, or the counter if higher
            number = max(counted or 0, highest_on_disk(data_dir, prefix))
        else:
            number = counted if counted is not None else highest_on_disk(data_dir, prefix)
            if reserved[1] != this_boot:  # a reboot since: the counter's last writes may be lost
                number = max(number, reserved[0])
        while True:
            number += 1
            reference = format_reference(prefix, number)
            if not names_anything(data_dir, reference):
                break
            number = max(number, highest_on_disk(data_dir, prefix))  # the counter went back: catch up
        if this_boot and (reserved is None or number > reserved[0] or reserved[1] != this_boot):
            # Durable before the number is used: after a power cut the counter starts past it.
            replace_file(os.path.join(data_dir, STATE_DIR), RESERVED_FILE,
                         f"{number + BLOCK - 1} {this_boot}\n".encode("ascii"))
        encoded = f"{number}\n".encode("ascii")
        os.pwrite(fd, encoded, 0)
        os.ftruncate(fd, len(encoded))
        if not this_boot:  # no boot id to tell a reboot: the counter itself is made durable each time
            os.fsync(fd)
        return reference
    finally:
        os.close(fd)  # closing releases the lock
