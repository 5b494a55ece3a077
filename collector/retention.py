"""The RGPD retention: `flask --app collector purge` removes what is older than
legal.retention_months (ami.yaml): each dossier's record, its corrected versions, its
history, its e-mails and its submission ids; and the lost-link requests no mailer handled
within link_requests.MAX_AGE.

A role of its own: it knows where every role keeps a dossier's data (records, review
histories, mail), which neither the review nor the mail commands need to know.
"""

from __future__ import annotations

import os
from datetime import date, datetime

import click
from flask.cli import with_appcontext

from . import appstate, idempotency, link_requests, porteur_mail
from . import mail as mail_module
from .commandline import echo, warn_files
from .dossier import remove_versions
from .owner import as_data_owner
from .records import record_path
from .review.catalog import format_received, is_older_than
from .review.index import Selection
from .review.indexing import app_index
from .statuses import remove_history


def remove_dossier(data_dir: str, reference: str) -> None:
    """Delete one dossier's record, history, corrected versions and e-mails."""
    os.unlink(record_path(data_dir, reference))
    remove_history(data_dir, reference)
    mail_module.remove_for_reference(data_dir, reference)
    remove_versions(data_dir, reference)  # the corrected versions (the history went above)
    porteur_mail.remove_dossier_mails(data_dir, reference)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@click.command("purge")
@with_appcontext
@as_data_owner
@click.option("--dry-run", is_flag=True, help="Montrer ce qui serait supprimé, sans rien supprimer.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date de référence (par défaut : aujourd'hui).")
def purge_command(dry_run, today) -> None:
    """Remove the records older than legal.retention_months, with their history and mails (RGPD)."""
    months = appstate.facts()["legal"]["retention_months"]
    limit = _months_before((today or datetime.now()).date(), months)
    data_dir = appstate.data_dir()
    index = app_index()
    old = [entry for entry in index.select(Selection()) if is_older_than(entry, limit)]
    verb = "serait supprimée" if dry_run else "supprimée"
    for entry in old:
        if not dry_run:
            remove_dossier(data_dir, entry.reference)
        echo(f"{entry.reference} (reçue le {format_received(entry)}) {verb}, avec son historique et ses e-mails.")
    if old and not dry_run:
        idempotency.remove_for_references(data_dir, [entry.reference for entry in old])
    echo(f"{len(old)} candidature(s) antérieure(s) au {limit:%d/%m/%Y} (conservation : {months} mois) "
         + ("à supprimer (simulation : rien n'a été supprimé)." if dry_run else "supprimée(s)."))
    expired = 0 if dry_run else link_requests.remove_expired(data_dir)
    if expired:
        echo(f"{expired} demande(s) de lien de dossier non traitée(s) depuis plus de "
             f"{link_requests.MAX_AGE.days} jours supprimée(s).")
    warn_files(index.warnings())


COMMANDS = [purge_command]
