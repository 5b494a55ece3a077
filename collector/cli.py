"""Reviewers' commands: `flask --app collector <command>` (see README, "Reviewing submissions").

    list       the submissions, filtered       show REF     one submission in full
    export     CSV or XLSX spreadsheet          stats        counts by thématique, département, type, week
    status     change a status (with a note)   note         add a note
    check      every record parses and validates (exit code 1 otherwise)
    purge      remove what is older than the retention period (RGPD), --dry-run first
    create-user  a reviewer account            send-mail    deliver the outbox now

A record that no longer parses or validates is named on stderr, never skipped silently.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterable
from datetime import date, datetime

import click
from flask import Flask
from flask.cli import with_appcontext

from . import mail as mail_module
from . import porteur_mail
from .dossier import EVENT_LABELS, remove_versions
from .exports import FLAG_LABELS, write_csv, write_xlsx
from .records import record_path
from .review import appstate
from .review.catalog import Catalog, Entry, count_by, filter_entries, format_received, is_older_than, load_catalog
from .review.users import UserError, set_password
from .review.validity import record_validator
from .statuses import STATUSES, StatusError, add_note, change_status, read_history, remove_history, status_label


def _catalog(validate: bool = True, thorough: bool = False) -> Catalog:
    validator = record_validator(appstate.form(), trust_hash=not thorough) if validate else None
    return load_catalog(appstate.data_dir(), validator)


def _warn(catalog: Catalog) -> None:
    for line in catalog.warnings:
        click.echo(f"Attention : {line}", err=True)
    if catalog.warnings:
        click.echo(f"Attention : {len(catalog.warnings)} fichier(s) à vérifier à la main "
                   "(lancez « check » pour le détail).", err=True)


def _table(headers: list[str], rows: Iterable[list[str]]) -> str:
    rows = [list(map(str, row)) for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(row) for row in rows])


def _filters(function):
    for option in reversed([
        click.option("--status", type=click.Choice(list(STATUSES)), help="Statut (code)."),
        click.option("--thematique", help="Thématique (code, par exemple inclusion_numerique)."),
        click.option("--departement", help="Département (code, par exemple 14)."),
        click.option("--type", "type_structure", help="Type de structure (code, par exemple association)."),
    ]):
        function = option(function)
    return function


def _chosen(catalog: Catalog, status, thematique, departement, type_structure) -> list[Entry]:
    return filter_entries(catalog.entries, status=status, thematique=thematique,
                          departement=departement, type_structure=type_structure)


def _who(by: str | None) -> str:
    return by or os.environ.get("COLLECTOR_REVIEWER") or getpass.getuser()


@click.command("list")
@with_appcontext
@_filters
def list_command(status, thematique, departement, type_structure) -> None:
    """List the submissions (reference, receipt, organisation, thématiques, département, status, flags)."""
    catalog = _catalog()
    chosen = _chosen(catalog, status, thematique, departement, type_structure)
    click.echo(_table(
        ["Référence", "Reçue le", "Structure", "Thématiques", "Dépt", "Statut", "Signalements", "Version"],
        ([e.reference, format_received(e), e.organisation[:40], ", ".join(e.thematiques),
          e.departement, status_label(e.status), ", ".join(e.flags), str(e.version)] for e in chosen)))
    click.echo(f"{len(chosen)} candidature(s) sur {len(catalog.entries)}.")
    _warn(catalog)


@click.command("show")
@with_appcontext
@click.argument("reference")
def show_command(reference: str) -> None:
    """Show one submission in full: answers with their labels, flags, duplicates, history."""
    form = appstate.form()
    catalog = _catalog()
    entry = catalog.get(reference)
    if entry is None:
        raise click.ClickException(f"Aucune candidature lisible ne porte la référence « {reference} ».")
    from .exports import answer_text

    click.echo(f"{entry.reference} — reçue le {format_received(entry)} — statut : {status_label(entry.status)}")
    if entry.version > 1:
        click.echo(f"Version {entry.version} (corrigée par le porteur le {entry.record.get('corrected_at')}) : "
                   f"{entry.version} versions, la plus récente ci-dessous")
    if entry.flags:
        click.echo("Signalements : " + ", ".join(FLAG_LABELS.get(f, f) for f in entry.flags))
    for other, kind in entry.duplicates:
        click.echo(f"Doublon possible : {other} (même {'SIRET' if kind == 'siret' else 'e-mail'})")
    for problem in entry.problems:
        click.echo(f"À vérifier : {problem}")
    click.echo("")
    for field in form.fields:
        value = answer_text(form, field, entry.answers.get(field.name))
        click.echo(f"{field.label} :")
        for line in (value.splitlines() or ["—"]):
            click.echo(f"    {line}")
    history = read_history(appstate.data_dir(), reference)
    click.echo("\nHistorique :")
    if not history["events"]:
        click.echo("    (aucun changement)")
    for event in history["events"]:
        what = (f"{status_label(event['from'])} → {status_label(event['to'])}" if event["kind"] == "status"
                else EVENT_LABELS.get(event["kind"], event["kind"]))
        click.echo(f"    {event['at']}  {event['by']}  {what}" + (f" : {event['note']}" if event.get("note") else ""))


@click.command("export")
@with_appcontext
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Fichier à écrire (par défaut candidatures-AAAAMMJJ.csv|xlsx ; « - » pour la sortie standard).")
@_filters
def export_command(fmt, output, status, thematique, departement, type_structure) -> None:
    """Export the submissions as a spreadsheet (columns from the form definition)."""
    form = appstate.form()
    catalog = _catalog()
    chosen = _chosen(catalog, status, thematique, departement, type_structure)
    writer = write_csv if fmt == "csv" else write_xlsx
    if output == "-":
        count = writer(form, chosen, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        output = output or f"candidatures-{date.today():%Y%m%d}.{fmt}"
        with open(output, "wb") as handle:
            count = writer(form, chosen, handle)
        click.echo(f"{count} candidature(s) exportée(s) dans {output}.", err=True)
    _warn(catalog)


@click.command("stats")
@with_appcontext
def stats_command() -> None:
    """Counts by thématique, département, type of organisation, ISO week and status."""
    form = appstate.form()
    catalog = _catalog()
    counts = count_by(catalog.entries)

    def label(field: str, value: str) -> str:
        try:
            return form.choice_label(field, value)
        except KeyError:
            return value

    sections = [
        ("Thématique", counts["thematique"], lambda v: label("thematiques", v)),
        ("Département", counts["departement"], str),
        ("Type de structure", counts["type_structure"], lambda v: label("type_structure", v)),
        ("Semaine de réception", counts["semaine"], str),
        ("Statut", counts["statut"], status_label),
    ]
    click.echo(f"{len(catalog.entries)} candidature(s).")
    for title, counter, name in sections:
        ordered = sorted(counter.items(), key=lambda item: item[0]) if title.startswith("Semaine") else counter.most_common()
        click.echo("\n" + _table([title, "Nombre"], ([name(key), count] for key, count in ordered)))
    _warn(catalog)


@click.command("status")
@with_appcontext
@click.argument("reference")
@click.argument("new_status", metavar="STATUT")
@click.option("--note", default="", help="Pourquoi ce changement.")
@click.option("--by", help="Qui fait ce changement (par défaut : l'utilisateur du système).")
def status_command(reference, new_status, note, by) -> None:
    """Change a submission's status (reçu → en instruction → an outcome)."""
    try:
        history = change_status(appstate.data_dir(), reference, new_status, by=_who(by), note=note)
    except (StatusError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{reference} : {status_label(history['status'])}.")


@click.command("note")
@with_appcontext
@click.argument("reference")
@click.argument("text")
@click.option("--by", help="Qui écrit cette note (par défaut : l'utilisateur du système).")
def note_command(reference, text, by) -> None:
    """Add a note to a submission's history."""
    try:
        add_note(appstate.data_dir(), reference, text, by=_who(by))
    except (StatusError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Note ajoutée à {reference}.")


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Check that every record parses and validates against the form; exit code 1 otherwise."""
    catalog = _catalog(thorough=True)
    for line in catalog.unreadable:
        click.echo(f"ILLISIBLE  {line}")
    for line in catalog.invalid:
        click.echo(f"INVALIDE   {line}")
    bad = len(catalog.unreadable) + len(catalog.invalid)
    records = len(catalog.entries) + sum(not line.startswith("reviews/") for line in catalog.unreadable)
    click.echo(f"{records} enregistrement(s) vérifié(s), {bad} fichier(s) en erreur.")
    if bad:
        sys.exit(1)


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
@click.option("--dry-run", is_flag=True, help="Montrer ce qui serait supprimé, sans rien supprimer.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date de référence (par défaut : aujourd'hui).")
def purge_command(dry_run, today) -> None:
    """Remove the records older than legal.retention_months, with their history and mails (RGPD)."""
    months = appstate.facts()["legal"]["retention_months"]
    limit = _months_before((today or datetime.now()).date(), months)
    data_dir = appstate.data_dir()
    catalog = _catalog()
    old = [entry for entry in catalog.entries if is_older_than(entry, limit)]
    verb = "serait supprimée" if dry_run else "supprimée"
    for entry in old:
        if not dry_run:
            os.unlink(record_path(data_dir, entry.reference))
            remove_history(data_dir, entry.reference)
            mail_module.remove_for_reference(data_dir, entry.reference)
            remove_versions(data_dir, entry.reference)  # the corrected versions (the history went above)
            porteur_mail.remove_dossier_mails(data_dir, entry.reference)
        click.echo(f"{entry.reference} (reçue le {format_received(entry)}) {verb}, avec son historique et ses e-mails.")
    click.echo(f"{len(old)} candidature(s) antérieure(s) au {limit:%d/%m/%Y} (conservation : {months} mois) "
               + ("à supprimer (simulation : rien n'a été supprimé)." if dry_run else "supprimée(s)."))
    _warn(catalog)


@click.command("create-user")
@with_appcontext
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
def create_user_command(name, password_stdin) -> None:
    """Create a reviewer account (or change its password)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmez le mot de passe")
    try:
        created = set_password(appstate.data_dir(), name, password)
    except UserError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Compte « {name} » {'créé' if created else 'mis à jour'}.")


@click.command("send-mail")
@with_appcontext
def send_mail_command() -> None:
    """Deliver the e-mails waiting in the outbox now."""
    settings = porteur_mail.settings()  # the environment's, able to sign the dossier links
    queued = mail_module.reconcile(appstate.data_dir(), appstate.facts(), appstate.form(), settings)
    if queued:
        click.echo(f"{len(queued)} e-mail(s) manquant(s) mis en file d'attente.", err=True)
    report = mail_module.deliver_outbox(appstate.data_dir(), settings)
    click.echo(f"{len(report.sent)} envoyé(s), {len(report.deferred)} en attente, {len(report.failed)} refusé(s).")
    for name in report.failed:
        click.echo(f"Refusé définitivement : {name} (voir le dossier failed/)", err=True)
    if report.error:
        click.echo(f"Attention : {report.error}.", err=True)
        sys.exit(1)


COMMANDS = [list_command, show_command, export_command, stats_command, status_command, note_command,
            check_command, purge_command, create_user_command, send_mail_command]


def init_app(app: Flask) -> None:
    """Register the reviewers' commands on the app's `flask` command."""
    for command in COMMANDS:
        app.cli.add_command(command)
