"""Login throttling shared by every gunicorn worker: state in `$DATA/accounts/throttle.yaml`.

Failed attempts are counted per (account name, client address) pair, stored only as a
keyed hash (no address or name in clear). After MAX_FAILURES failures within WINDOW
seconds the pair is locked out for LOCKOUT seconds. The file is read and rewritten
under an exclusive flock, so concurrent workers never lose a count.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..durable import replace_file
from ..yamlio import YamlFileError, dump_yaml, read_yaml_file
from .users import ACCOUNTS_DIR

STATE_FILE = "throttle.yaml"
MAX_FAILURES = 5
WINDOW = 15 * 60
LOCKOUT = 15 * 60


def _key(secret: str, name: str, address: str) -> str:
    return hashlib.sha256(f"{secret}\0{name.lower()}\0{address}".encode()).hexdigest()[:32]


@contextmanager
def _state(data_dir: str) -> Iterator[dict[str, Any]]:
    folder = os.path.join(data_dir, ACCOUNTS_DIR)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(folder, "throttle.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = os.path.join(folder, STATE_FILE)
        try:
            state = read_yaml_file(path) if os.path.exists(path) else {}
        except YamlFileError:
            state = {}
        state = state if isinstance(state, dict) else {}
        before = dict(state)
        yield state
        now = time.time()
        for key in [k for k, v in state.items() if not isinstance(v, dict) or v.get("until", 0) < now and v.get("last", 0) < now - WINDOW]:
            del state[key]
        if state != before:
            replace_file(folder, STATE_FILE, dump_yaml(state).encode("utf-8"))
    finally:
        os.close(fd)


def locked_for(data_dir: str, secret: str, name: str, address: str) -> int:
    """Seconds left before this name may try again from this address (0: may try now)."""
    with _state(data_dir) as state:
        entry = state.get(_key(secret, name, address)) or {}
        left = float(entry.get("until", 0)) - time.time()
    return max(0, math.ceil(left))


def record_failure(data_dir: str, secret: str, name: str, address: str) -> int:
    """Count one failed login; return the lockout in seconds it triggers (0 if none)."""
    now = time.time()
    with _state(data_dir) as state:
        key = _key(secret, name, address)
        entry = state.get(key) or {}
        failures = int(entry.get("failures", 0)) if now - float(entry.get("last", 0)) < WINDOW else 0
        failures += 1
        entry = {"failures": failures, "last": now, "until": float(entry.get("until", 0))}
        if failures >= MAX_FAILURES:
            entry = {"failures": 0, "last": now, "until": now + LOCKOUT}
        state[key] = entry
        return LOCKOUT if entry["until"] > now else 0


def record_success(data_dir: str, secret: str, name: str, address: str) -> None:
    with _state(data_dir) as state:
        state.pop(_key(secret, name, address), None)
