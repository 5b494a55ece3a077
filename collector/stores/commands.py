"""The store's commands: `flask --app collector db-upgrade` (see README, « Au-delà d'un serveur »).

`db-upgrade` is a Flask plugin command (pyproject's `flask.commands` entry point), not one
of the app's: it must run when the app cannot start, which is exactly when the schema is
missing or older than the code. It reads COLLECTOR_DATABASE_URL itself.
"""

from __future__ import annotations

import os
import sys

import click

from ..config import ConfigError, database_url
from . import schema
from .base import StoreConfigError


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.command("db-upgrade")
def db_upgrade_command() -> None:
    """Bring the PostgreSQL schema up to this code's version (safe to run again, from several hosts at once)."""
    try:
        url = database_url(os.environ)
    except ConfigError as error:
        _fail(str(error))
        return
    if url is None:
        _fail("COLLECTOR_DATABASE_URL n'est pas définie : le collecteur garde ses données dans le dossier de données, "
              "qui n'a pas de schéma à mettre à jour. Définissez-la (postgresql://…) pour préparer une base PostgreSQL.")
        return
    from .postgres import connect

    try:
        with connect(url) as connection:
            before = schema.current_version(connection)
            if before > schema.code_version():
                _fail(f"Rien n'a été changé : {schema.problem(before)}")
                return
            applied = schema.upgrade(connection)
    except StoreConfigError as error:
        _fail(f"Rien n'a été changé : {error}")
        return
    if not applied:
        click.echo(f"Le schéma de la base est déjà à jour (version {before}).")
        return
    names = ", ".join(f"{migration.version:04d}_{migration.name}" for migration in applied)
    click.echo(f"Schéma de la base mis à jour : version {before} → {applied[-1].version} ({names}).")
