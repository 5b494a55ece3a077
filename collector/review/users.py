"""Reviewer accounts: `$DATA/accounts/users.yaml`, passwords hashed with werkzeug's scrypt.

The file sits in a sub-folder so that durable.replace_file's `tmp/` is `$DATA/tmp`.

    users:
      alice:
        password_hash: scrypt:32768:8:1$...
        created_at: 2021-04-01T09:00:00+02:00
        session: 3q2Zk…   # the account's session generation (see below)

Session generation: a random value per account, copied into the reviewer's session at
login and compared on every request. Logout and a password change draw a new one, so
every session of that account ends at once, in every worker; removing the account ends
them too, and re-creating it draws a fresh value, so an old cookie never comes back.
A random value rather than a counter for that last reason.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import secrets
from collections.abc import Callable
from hmac import compare_digest
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.security import check_password_hash, generate_password_hash

from ..durable import replace_file
from ..yamlio import YamlFileError, dump_yaml, read_yaml_file

ACCOUNTS_DIR = "accounts"
USERS_FILE = "users.yaml"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD_LENGTH = 12


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the name is unknown, so both cases take the same time.

    Made on first use, not at import: scrypt takes a tenth of a second, which every
    command would otherwise pay at start-up."""
    return generate_password_hash("not a password", method="scrypt")


class UserError(ValueError):
    """A refused account operation; the message is in French."""


def _path(data_dir: str) -> str:
    return os.path.join(data_dir, ACCOUNTS_DIR, USERS_FILE)


def read_users(data_dir: str) -> dict[str, dict[str, Any]]:
    path = _path(data_dir)
    if not os.path.exists(path):
        return {}
    try:
        data = read_yaml_file(path)
    except YamlFileError as error:
        raise UserError(f"Fichier des comptes illisible : {error}") from error
    users = (data or {}).get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise UserError(f"{path} : la clé « users » est absente ou mal formée.")
    return users


def _update(data_dir: str, change: Callable[[dict[str, dict[str, Any]]], Any]) -> Any:
    """Apply `change` to the accounts under the accounts lock and write them back durably."""
    folder = os.path.join(data_dir, ACCOUNTS_DIR)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(folder, "users.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        users = read_users(data_dir)
        result = change(users)
        replace_file(folder, USERS_FILE, dump_yaml({"users": users}).encode("utf-8"))
        os.chmod(_path(data_dir), 0o600)
    finally:
        os.close(fd)
    return result


def new_generation() -> str:
    """A fresh session generation (random: an old cookie never matches a re-created account)."""
    return secrets.token_urlsafe(16)


def set_password(data_dir: str, name: str, password: str) -> bool:
    """Create the account `name`, or change its password (ending its sessions); True if it was created."""
    password_hash = checked_password_hash(name, password)

    def change(users: dict[str, dict[str, Any]]) -> bool:
        created = name not in users
        users[name] = {
            "password_hash": password_hash,
            "created_at": users.get(name, {}).get("created_at")
            or datetime.now(ZoneInfo("Europe/Paris")).isoformat(timespec="seconds"),
            "session": new_generation(),
        }
        return created

    return _update(data_dir, change)


def end_sessions(data_dir: str, name: str) -> str | None:
    """End every session of `name` (a new generation); the new generation, None if no such account."""
    def change(users: dict[str, dict[str, Any]]) -> str | None:
        if not isinstance(users.get(name), dict):
            return None
        users[name]["session"] = new_generation()
        return users[name]["session"]

    return _update(data_dir, change)


def session_generation(data_dir: str, name: str) -> str | None:
    """The account's current generation (drawn now for an account that has none yet)."""
    try:
        user = read_users(data_dir).get(name)
    except UserError:
        return None
    if not isinstance(user, dict):
        return None
    current = user.get("session")
    return current if isinstance(current, str) and current else end_sessions(data_dir, name)


def session_is_current(users: dict[str, dict[str, Any]], name: str, generation: Any) -> bool:
    """True if `name` still exists and `generation` is its current one (constant-time check)."""
    user = users.get(name)
    return generation_matches(user.get("session") if isinstance(user, dict) else None, generation)


def authenticate(data_dir: str, name: str, password: str) -> bool:
    """True if `name` exists and `password` is its password."""
    try:
        user = read_users(data_dir).get(name)
    except UserError:
        user = None
    return password_matches(user.get("password_hash") if isinstance(user, dict) else None, password)


def remove_user(data_dir: str, name: str) -> bool:
    """Remove the account `name` (ending its sessions); False if there was none."""
    if not os.path.exists(_path(data_dir)):
        return False
    return _update(data_dir, lambda users: users.pop(name, None) is not None)


# What every store of accounts shares (collector/stores/*reviewers.py): the rules of names and
# passwords, the hash, and the constant-time checks.

def checked_password_hash(name: str, password: str) -> str:
    """The scrypt hash of `password` for the account `name`; UserError (French) if either is refused."""
    if not NAME_PATTERN.fullmatch(name):  # match() would let "ab\n" through ($ matches before a final newline)
        raise UserError("Nom de compte invalide : 2 à 40 caractères parmi a-z, 0-9, point, tiret, souligné ; "
                        "commencez par une lettre ou un chiffre.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins.")
    return generate_password_hash(password, method="scrypt")


def password_matches(stored: Any, password: str) -> bool:
    """True if `stored` is a hash of `password`. Without a usable hash (unknown name), a dummy hash
    is checked all the same, so that both cases take the same time."""
    if not isinstance(stored, str):
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(stored, password)


def generation_matches(current: Any, generation: Any) -> bool:
    """True if `generation` (from a session) is `current`, a non-empty generation (constant-time check)."""
    if not isinstance(current, str) or not current or not isinstance(generation, str):
        return False
    return compare_digest(current.encode("utf-8"), generation.encode("utf-8"))
