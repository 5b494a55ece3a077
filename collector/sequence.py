"""Readable, sequential references (AMI-2021-0042), unique across gunicorn workers.

A counter file in $DATA/state, read and incremented under `fcntl.flock`. The counter is
not fsynced: records are published with `os.link`, which refuses a taken name, and the
allocator skips any number whose record already exists, so a counter that lost its last
increments in a power cut can never hand out a reference twice.
"""

from __future__ import annotations

import fcntl
import os
import re

from .records import SUBMISSIONS_DIR, record_path

STATE_DIR = "state"
COUNTER_FILE = "sequence"


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number:04d}"


def _highest_existing(data_dir: str, prefix: str) -> int:
    folder = os.path.join(data_dir, SUBMISSIONS_DIR)
    pattern = re.compile(re.escape(prefix) + r"-(\d+)\.yaml")
    if not os.path.isdir(folder):
        return 0
    numbers = [int(match.group(1)) for name in os.listdir(folder) if (match := pattern.fullmatch(name))]
    return max(numbers, default=0)


def next_reference(data_dir: str, prefix: str) -> str:
    """Take the next free reference; concurrent workers never get the same one."""
    folder = os.path.join(data_dir, STATE_DIR)
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, COUNTER_FILE), os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        number = int(text) if text.isdigit() else _highest_existing(data_dir, prefix)
        while True:
            number += 1
            reference = format_reference(prefix, number)
            if not os.path.exists(record_path(data_dir, reference)):
                break
        encoded = f"{number}\n".encode("ascii")
        os.pwrite(fd, encoded, 0)
        os.ftruncate(fd, len(encoded))
        return reference
    finally:
        os.close(fd)  # closing releases the lock
