"""Durable, atomic file writes: a reader sees a whole file or none, never a partial one.

The Maildir way: write into `tmp/` beside the destination folder (same filesystem),
fsync the file, publish it with `os.link` (refuses to overwrite: for new records) or
`os.replace` (for files that change, such as a review history), then fsync the folder
so the new name itself survives a power cut. If any fsync fails, the write failed and
the error propagates: nothing is reported as saved that is not on disk.
"""

from __future__ import annotations

import os
import time
import uuid

TMP_DIR_NAME = "tmp"


def _tmp_dir(folder: str) -> str:
    path = os.path.join(os.path.dirname(os.path.abspath(folder)), TMP_DIR_NAME)
    os.makedirs(path, exist_ok=True)
    return path


def fsync_dir(folder: str) -> None:
    """Flush a folder's entries (new or renamed names) to disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(folder: str, data: bytes, *, sync: bool = True) -> str:
    """Write `data` into a new file of tmp/, fsynced unless the caller syncs it (durable_batch.py)."""
    tmp_path = os.path.join(_tmp_dir(folder), f"{time.time_ns()}.{os.getpid()}.{uuid.uuid4().hex}")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp_path)
        raise
    os.close(fd)
    return tmp_path


def write_new_file(folder: str, name: str, data: bytes, *, sync_folder: bool = True) -> str:
    """Create `folder/name` durably; raise FileExistsError if that name is taken.

    `sync_folder=False` is for a caller that publishes several files in one folder: each
    file is still fsynced before its name appears, and the caller must `fsync_dir(folder)`
    once after the last one before relying on any of the names."""
    os.makedirs(folder, exist_ok=True)
    tmp_path = _write_tmp(folder, data)
    final_path = os.path.join(folder, name)
    try:
        os.link(tmp_path, final_path)
    finally:
        os.unlink(tmp_path)
    if sync_folder:
        fsync_dir(folder)
    return final_path


def replace_file(folder: str, name: str, data: bytes) -> str:
    """Create or replace `folder/name` durably and atomically."""
    os.makedirs(folder, exist_ok=True)
    tmp_path = _write_tmp(folder, data)
    final_path = os.path.join(folder, name)
    try:
        os.replace(tmp_path, final_path)
    except BaseException:
        os.unlink(tmp_path)
        raise
    fsync_dir(folder)
    return final_path


def _writer_is_gone(name: str) -> bool:
    """True when the process that named this temporary file (`<ns>.<pid>.<uuid>`) has ended."""
    parts = name.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) <= 1:
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep_tmp(data_dir: str, older_than_seconds: float = 0) -> int:
    """Remove leftovers of interrupted writes from `data_dir/tmp`; return how many.

    A file goes if its writer process has ended (it can never be finished) or if it is
    older than `older_than_seconds`; a file a live sibling process is writing stays.
    """
    tmp = os.path.join(data_dir, TMP_DIR_NAME)
    if not os.path.isdir(tmp):
        return 0
    removed = 0
    limit = time.time() - older_than_seconds
    for entry in os.scandir(tmp):
        try:  # other processes publish (and so remove) their temporary files meanwhile
            if entry.is_file() and (entry.stat().st_mtime <= limit or _writer_is_gone(entry.name)):
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
