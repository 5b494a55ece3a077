"""Versioned schema of the PostgreSQL store: `schema/NNNN_name.sql`, applied in order.

`schema_version` holds one row per applied file. `upgrade` applies the missing ones in a
single transaction under an advisory lock: two hosts upgrading at once apply each file
once, and a failing file leaves the schema as it was (PostgreSQL's DDL is transactional).
`require_current` is the start-up check: a missing, older or newer schema stops the
collector with a French message saying what to do.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import psycopg

from .base import StoreConfigError

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_LOCK_KEY = 0x414D4932  # "AMI2": the advisory lock that serialises upgrades
UPGRADE_COMMAND = "flask --app collector db-upgrade"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: str

    def sql(self) -> str:
        with open(self.path, encoding="utf-8") as handle:
            return handle.read()


def migrations() -> list[Migration]:
    """Every schema file, in version order."""
    found = []
    for name in os.listdir(SCHEMA_DIR):
        if match := _FILE.fullmatch(name):
            found.append(Migration(int(match.group(1)), match.group(2), os.path.join(SCHEMA_DIR, name)))
    return sorted(found, key=lambda migration: migration.version)


def code_version() -> int:
    """The schema version this code needs (the last file's)."""
    return migrations()[-1].version


def current_version(connection: psycopg.Connection) -> int:
    """The database's schema version; 0 when it has none (a new database)."""
    exists = connection.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def upgrade(connection: psycopg.Connection, target: int | None = None) -> list[Migration]:
    """Apply the missing schema files up to `target` (default: all); the ones applied now."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                           "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        version = current_version(connection)
        applied = []
        for migration in migrations():
            if migration.version <= version or (target is not None and migration.version > target):
                continue
            connection.execute(migration.sql())  # type: ignore[arg-type]  # our own files, no parameters
            connection.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                               (migration.version, migration.name))
            applied.append(migration)
    return applied


def problem(version: int) -> str | None:
    """What is wrong with a database at schema `version` for this code (French), or None."""
    needed = code_version()
    if version == 0:
        return (f"la base ne contient pas encore le schéma du collecteur : lancez « {UPGRADE_COMMAND} » "
                "(avec la même COLLECTOR_DATABASE_URL), puis redémarrez le collecteur.")
    if version < needed:
        return (f"le schéma de la base (version {version}) est plus ancien que celui du code (version {needed}) : "
                f"lancez « {UPGRADE_COMMAND} », puis redémarrez le collecteur.")
    if version > needed:
        return (f"le schéma de la base (version {version}) est plus récent que celui du code (version {needed}) : "
                "ce collecteur est plus ancien que la base. Déployez la même version du code sur chaque serveur.")
    return None


def require_current(connection: psycopg.Connection) -> None:
    """StoreConfigError (French) unless the database's schema is exactly this code's."""
    if reason := problem(current_version(connection)):
        raise StoreConfigError(reason)
