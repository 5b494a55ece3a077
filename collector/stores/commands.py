"""The store's commands (see README, « Au-delà d'un serveur »):

    db-upgrade            bring the PostgreSQL schema up to this code's version
    migrate-store --from DIR   copy a data folder into the empty PostgreSQL store, verified
    dump DIR              write the store out as a data folder, verified

`db-upgrade` is a Flask plugin command (pyproject's `flask.commands` entry point), not one
of the app's: it must run when the app cannot start, which is exactly when the schema is
missing or older than the code. It reads COLLECTOR_DATABASE_URL itself.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click
from flask import Flask
from flask.cli import with_appcontext

from .. import appstate
from ..config import ConfigError, database_url
from ..owner import as_data_owner
from .base import StoreConfigError, StoreUnavailable, TransferRefused

if TYPE_CHECKING:
    from .transfer import Summary

# This module is loaded by every `flask` command (db-upgrade is a plugin command): psycopg
# (schema.py, postgres.py) and the transfer are imported only by the commands that use them.


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
    from . import schema
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


def _prefix() -> str:
    return str(appstate.facts()["call"]["reference_prefix"])


def _report(what: str, summary: Summary) -> None:
    click.echo(f"{what} : {summary.records} dossier(s), {summary.submission_ids} identifiant(s) d'envoi, "
               f"compteur de références à {summary.last_number}, {summary.histories} historique(s), "
               f"{summary.versions} version(s) corrigée(s), {summary.mails} e-mail(s) dont "
               f"{summary.waiting_mails} en attente ; nombres et empreintes (sha256) vérifiés."
               + (f" {summary.skipped_ids} identifiant(s) d'envoi sans dossier (ids/) non copié(s)."
                  if summary.skipped_ids else ""))


@click.command("migrate-store")
@click.option("--from", "source", required=True, type=click.Path(file_okay=False),
              help="Le dossier de données à copier (COLLECTOR_DATA_DIR du serveur unique).")
@with_appcontext
@as_data_owner
def migrate_store_command(source: str) -> None:
    """Copy a data folder into the empty PostgreSQL store (once; verified by counts and hashes)."""
    from .transfer import migrate

    try:
        summary = migrate(os.path.abspath(source), appstate.store(), _prefix())
    except (TransferRefused, StoreUnavailable) as error:
        _fail(f"migrate-store : {error}")
        return
    _report("Copié dans PostgreSQL", summary)


@click.command("dump")
@click.argument("target", type=click.Path(file_okay=False))
@with_appcontext
@as_data_owner
def dump_command(target: str) -> None:
    """Write the store out as a data folder in TARGET (new or empty): records, submission ids, counter,
    histories and corrected versions."""
    from ..output_files import OutputError, refuse_inside, writing
    from .transfer import dump

    try:
        refuse_inside(target, appstate.data_dir())
        left = "Ce qui a pu y être écrit est incomplet : supprimez ce dossier avant de relancer dump."
        with writing(target, left):
            summary = dump(appstate.store(), os.path.abspath(target), _prefix())
    except (TransferRefused, StoreUnavailable, OutputError) as error:
        _fail(f"dump : {error}")
        return
    _report(f"Écrit dans {target}", summary)
    if summary.waiting_mails:
        click.echo(f"Attention : {summary.waiting_mails} e-mail(s) en attente sont copiés dans {target}/outbox/ (pour "
                   "une restauration). Ne lancez ni mailer ni send-mail sur cette copie tant que les serveurs "
                   "envoient les leurs : ces e-mails partiraient deux fois.", err=True)


def init_app(app: Flask) -> None:
    """Register the app's store commands (db-upgrade is a plugin command: see above)."""
    app.cli.add_command(migrate_store_command)
    app.cli.add_command(dump_command)
