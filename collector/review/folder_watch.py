"""Which files of a folder changed since this process last looked (Linux inotify, inotify-simple).

The review index asks before each use; the answer is the set of file names that were
created, written, moved or deleted since, or None when it must look at every file: the
first time it asks about a folder, after the kernel's event queue overflowed, in a new
process (a fork does not share the answer), or where inotify is not available. The watch is
set before the caller's full scan, so nothing changed during that scan is missed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict

log = logging.getLogger("collector")

MAX_FOLDERS = 16  # watches kept per process (tests open many data folders); the oldest goes first


def _give_inotify_simple_our_libc() -> None:
    """inotify-simple finds the C library with ctypes.util.find_library, which runs `ldconfig -p` in a
    subprocess: a fork of this process and 20 ms of every reviewer's command. The C library this
    interpreter already uses (`CDLL(None)`: the process's own symbols) is the one it would find."""
    import ctypes

    import inotify_simple

    if getattr(inotify_simple, "_libc", ()) is None:  # its cache, empty until its first INotify
        inotify_simple._libc = ctypes.CDLL(None, use_errno=True)


class FolderWatch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._inotify = None
        self._folders: OrderedDict[str, int] = OrderedDict()  # folder → watch descriptor
        self._pending: dict[str, set[str] | None] = {}

    def _reset(self) -> None:
        if self._inotify is not None:
            try:
                self._inotify.close()
            except OSError:
                pass
        self._pid, self._inotify, self._folders, self._pending = os.getpid(), None, OrderedDict(), {}
        try:
            from inotify_simple import INotify

            _give_inotify_simple_our_libc()
            self._inotify = INotify(nonblocking=True)
        except (ImportError, OSError) as error:  # no inotify: every use scans the folder
            log.info("review index: no inotify (%s); folders are scanned on each use", type(error).__name__)

    def _mask(self) -> int:
        from inotify_simple import flags

        return (flags.CREATE | flags.CLOSE_WRITE | flags.MODIFY | flags.ATTRIB | flags.MOVED_TO
                | flags.MOVED_FROM | flags.DELETE | flags.DELETE_SELF | flags.MOVE_SELF)

    def changes(self, folder: str) -> set[str] | None:
        """Names changed in `folder` since the last call, or None: look at every file."""
        with self._lock:
            if self._pid != os.getpid():
                self._reset()
            if self._inotify is None:
                return None
            self._drain()
            if folder not in self._folders:
                return self._watch(folder)
            self._folders.move_to_end(folder)
            return self._pending.pop(folder, set())

    def forget(self, folder: str) -> None:
        """The names last given for `folder` were not used: its next `changes` is None (look at every file)."""
        with self._lock:
            if folder in self._folders:
                self._pending[folder] = None

    def _watch(self, folder: str) -> None:
        try:
            self._folders[folder] = self._inotify.add_watch(folder, self._mask())
        except OSError:  # missing folder, or the user's watch limit: scan this time, try again next time
            return None
        self._pending.pop(folder, None)
        while len(self._folders) > MAX_FOLDERS:
            _old, descriptor = self._folders.popitem(last=False)
            try:
                self._inotify.rm_watch(descriptor)
            except OSError:
                pass
        return None

    def _drain(self) -> None:
        """Read every queued event into the per-folder sets of changed names."""
        from inotify_simple import flags

        by_descriptor = {descriptor: folder for folder, descriptor in self._folders.items()}
        for event in self._inotify.read(timeout=0):
            if event.mask & flags.Q_OVERFLOW:
                self._pending = {folder: None for folder in self._folders}
                continue
            folder = by_descriptor.get(event.wd)
            if folder is None:
                continue
            if event.mask & (flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF):
                self._folders.pop(folder, None)  # the folder itself went away: watch it again next time
                self._pending[folder] = None
                continue
            names = self._pending.setdefault(folder, set())
            if names is not None:
                names.add(event.name)


WATCH = FolderWatch()
