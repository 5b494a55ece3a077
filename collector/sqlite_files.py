"""This thread's SQLite connections to a data folder's files: kept open for reuse, closed together.

The rate limits, the reviewers' login throttle and the review index each keep one connection
per thread and file, opened on first use and reused (opening one costs the WAL check and the
pragmas). A gunicorn worker keeps them for its life (the kernel closes them when it ends); a
process that makes many apps in turn, each on its own folder (the test suite, a script),
closes an app's with `close_under(its data folder)` (appstate.close). A connection is never
shared between threads, nor inherited by a forked process: each opens its own.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

_local = threading.local()


def _kept() -> dict[str, tuple[sqlite3.Connection, Any]]:
    if getattr(_local, "pid", None) != os.getpid():  # a forked child never uses its parent's connections
        _local.connections, _local.pid = {}, os.getpid()
    return _local.connections


def cached(path: str) -> tuple[sqlite3.Connection, Any] | None:
    """This thread's open connection to `path` and the tag it was kept with, if any."""
    return _kept().get(path)


def keep(path: str, connection: sqlite3.Connection, tag: Any = None) -> sqlite3.Connection:
    """Keep `connection` as this thread's connection to `path` (closing one kept before)."""
    forget(path)
    _kept()[path] = (connection, tag)
    return connection


def forget(path: str) -> None:
    """Close this thread's connection to `path`, if it has one."""
    kept = _kept().pop(path, None)
    if kept is not None:
        kept[0].close()


def close_under(folder: str) -> int:
    """Close this thread's connections to the files under `folder`; how many were closed."""
    prefix = os.path.join(os.path.abspath(folder), "")
    paths = [path for path in _kept() if os.path.abspath(path).startswith(prefix)]
    for path in paths:
        forget(path)
    return len(paths)


def open_files() -> list[str]:
    """The paths this thread keeps a connection to (for checks)."""
    return sorted(_kept())
