"""Reviewer accounts: `$DATA/accounts/users.yaml`, passwords hashed with werkzeug's scrypt.

The file sits in a sub-folder so that durable.replace_file's `tmp/` is `$DATA/tmp`.

    users:
      alice:
        password_hash: scrypt:32768:8:1$...
        created_at: 2021-04-01T09:00:00+02:00
"""

from __future__ import annotations

import fcntl
import os
import re
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
# A hash to check against when the name is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


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


def set_password(data_dir: str, name: str, password: str) -> bool:
    """Create the account `name`, or change its password; True if it was created."""
    if not NAME_PATTERN.match(name):
        raise UserError("Nom de compte invalide : 2 à 40 caractères parmi a-z, 0-9, point, tiret, souligné ; "
                        "commencez par une lettre ou un chiffre.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins.")
    folder = os.path.join(data_dir, ACCOUNTS_DIR)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(folder, "users.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        users = read_users(data_dir)
        created = name not in users
        users[name] = {
            "password_hash": generate_password_hash(password, method="scrypt"),
            "created_at": users.get(name, {}).get("created_at")
            or datetime.now(ZoneInfo("Europe/Paris")).isoformat(timespec="seconds"),
        }
        replace_file(folder, USERS_FILE, dump_yaml({"users": users}).encode("utf-8"))
        os.chmod(_path(data_dir), 0o600)
    finally:
        os.close(fd)
    return created


def authenticate(data_dir: str, name: str, password: str) -> bool:
    """True if `name` exists and `password` is its password."""
    try:
        user = read_users(data_dir).get(name)
    except UserError:
        user = None
    stored = user.get("password_hash") if isinstance(user, dict) else None
    if not isinstance(stored, str):
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(stored, password)
