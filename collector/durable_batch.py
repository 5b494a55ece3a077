"""Many new files in one folder made durable by one sync of their filesystem, not one fsync each.

durable.write_new_file fsyncs each file before its name appears. For a batch (the mailer queues
the mails of fifty records at a time), `write_new_files` keeps that promise with one system call:
every file is written into tmp/ (as durable.py names them, so that sweep_tmp knows them), then
the filesystem holding them is synced once (syncfs(2): the data and metadata of every file on it
reach the disk; since Linux 5.8 it reports a writeback error met since the descriptor it is given
was opened, which is opened before the first file is written), then each file is published with
os.link (never overwrites). If the sync fails, nothing is published and the error is raised. The
folder itself is not fsynced: the caller does it once, before relying on any of the names.

Where syncfs cannot report errors (not Linux, or a kernel older than 5.8), each file is fsynced
instead, as durable.py does.
"""

from __future__ import annotations

import ctypes
import os
import platform
from functools import lru_cache
from typing import Any

from .durable import _tmp_dir, _write_tmp


@lru_cache(maxsize=1)
def _libc_syncfs() -> Any:
    """libc's syncfs if this kernel reports writeback errors through it (Linux 5.8+); else None."""
    if platform.system() != "Linux":
        return None
    try:
        major, minor = (int(part) for part in platform.release().split(".")[:2])
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (ValueError, OSError, AttributeError):
        return None
    if (major, minor) < (5, 8):
        return None
    function.argtypes = [ctypes.c_int]
    return function


def _syncfs(fd: int) -> None:
    """syncfs(2) on the filesystem of `fd`; OSError if it fails."""
    if _libc_syncfs()(fd) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))


def write_new_files(folder: str, files: list[tuple[str, bytes]]) -> tuple[list[str], list[tuple[str, BaseException]]]:
    """Create each `folder/name` with its bytes, durably (see the module docstring); (names
    published, [(name, error)] for those that were not: FileExistsError when the name is taken).
    A failed sync of the filesystem raises, and then no name is published."""
    os.makedirs(folder, exist_ok=True)
    one_sync = _libc_syncfs() is not None
    published: list[str] = []
    failed: list[tuple[str, BaseException]] = []
    written: list[tuple[str, str]] = []  # (name, temporary path)
    tmp_fd = os.open(_tmp_dir(folder), os.O_RDONLY | os.O_DIRECTORY)  # opened first: syncfs reports errors since
    try:
        for name, data in files:
            try:
                written.append((name, _write_tmp(folder, data, sync=not one_sync)))
            except OSError as error:  # e.g. a full disk: that file only
                failed.append((name, error))
        if written and one_sync:
            _syncfs(tmp_fd)  # every file written above is on disk from here
        for name, tmp_path in written:
            try:
                os.link(tmp_path, os.path.join(folder, name))
            except OSError as error:
                failed.append((name, error))
            else:
                published.append(name)
    finally:
        os.close(tmp_fd)
        for _name, tmp_path in written:
            try:
                os.unlink(tmp_path)
            except FileNotFoundError:
                pass
    return published, failed
