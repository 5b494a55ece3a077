"""Reviewers' commands: `flask --app collector <command>` (see README, "Reviewing submissions").

    list       the submissions, filtered       show REF     one submission in full
    export     CSV, XLSX or ODS spreadsheet     stats        counts by thématique, département, type, week
    status     change a status (with a note)   note         add a note
    check      every record parses and validates (exit code 1 otherwise)
    create-user  a reviewer account (or a new password)   delete-user  remove one

(`reindex` is in indexing.py, `message` in exchanges.py, `answers` in answer_pages.py, beside
the code they drive; `purge` in retention.py; the mail commands in mail/commands.py.)

A record that no longer parses or validates is named on stderr, never skipped silently.
Every command refuses to run as anyone but the data folder's owner (owner.py). `list`,
`stats` and the choice of what to export read the review index (index.py, brought in step
with the store first); `show`, `check` and the exported rows read the records through the
store (the data folder's files or PostgreSQL's rows).
Nothing here imports the mail modules.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from functools import partial

import click
from flask.cli import with_appcontext

from .. import appstate
from ..commandline import echo, table, warn_files, who
from ..departements import NAMES as DEPARTEMENTS, find_departement
from ..dossier import EVENT_LABELS
from ..export_files import FORMATS, export_name
from ..exports import flag_label
from ..output_files import OutputError, new_file, refuse_inside, write_files
from ..owner import as_data_owner
from ..phase import current_now
from ..readable import answer_text
from ..statuses import OUTCOMES, STATUSES, StatusError, add_note, change_status, read_history, status_label
from ..stores import StoreUnavailable
from .catalog import Catalog, format_received, scan_catalog
from .export_reading import read_whole
from .index import Selection
from .indexing import app_index
from .users import UserError
from .validity import record_validator


def _catalog(validate: bool = True, thorough: bool = False) -> Catalog:
    """Every record file read and judged (`check`): the index is not trusted here."""
    validator = record_validator(appstate.form(), trust_hash=not thorough) if validate else None
    return scan_catalog(appstate.store(), validator)


def _filters(function):
    for option in reversed([
        click.option("--status", type=click.Choice(list(STATUSES)), help="Statut (code)."),
        click.option("--thematique", help="Thématique (code, par exemple inclusion_numerique)."),
        click.option("--departement", help="Département, par son numéro ou son nom (14 ou Calvados)."),
        click.option("--type", "type_structure", help="Type de structure (code, par exemple association)."),
    ]):
        function = option(function)
    return function


def _choice_code(field_name: str, option: str, value: str | None) -> str | None:
    """A choice's code, given as its code or its label; a French error naming the possible codes."""
    if not value:
        return None
    choices = appstate.form().field(field_name).choices
    for code, label in choices:
        if value in (code, label) or value.casefold() == label.casefold():
            return code
    known = ", ".join(code for code, _label in choices)
    raise click.BadParameter(f"« {value} » n'est pas connu. Valeurs possibles : {known}.", param_hint=option)


def _selection(status, thematique, departement, type_structure) -> Selection:
    """The list's filters, checked: an unknown value is refused in French, never 0 results in silence."""
    code = None
    if departement:
        code = find_departement(departement)
        if code is None:
            raise click.BadParameter(f"département inconnu : « {departement} ». Donnez son numéro (14) ou son nom "
                                     "(Calvados).", param_hint="--departement")
    return Selection(status=status, thematique=_choice_code("thematiques", "--thematique", thematique),
                     departement=code, type_structure=_choice_code("type_structure", "--type", type_structure))


@click.command("list")
@with_appcontext
@as_data_owner
@_filters
def list_command(status, thematique, departement, type_structure) -> None:
    """List the submissions (reference, receipt, organisation, thématiques, département, status, flags)."""
    selection = _selection(status, thematique, departement, type_structure)
    index = app_index()
    rows = index.listing(selection)  # texts rendered by the index: no record summary read here
    themes = dict(appstate.form().field("thematiques").choices)
    echo(table(
        ["Référence", "Reçue le", "Structure", "Thématiques", "Dépt", "Statut", "Signalements", "Version"],
        ([row.reference, row.received, row.organisation[:40], ", ".join(themes.get(code, code) for code in row.thematiques),
          row.departement, status_label(row.status), ", ".join(flag_label(flag) for flag in row.flags), str(row.version)]
         for row in rows)))
    echo(f"{len(rows)} candidature(s) sur {index.total()}.")
    warn_files(index.warnings())


@click.command("show")
@with_appcontext
@as_data_owner
@click.argument("reference")
def show_command(reference: str) -> None:
    """Show one submission in full: answers with their labels, flags, duplicates, history."""
    form = appstate.form()
    index = app_index()
    entry = index.entry(reference)
    if entry is None:
        raise click.ClickException(f"Aucune candidature lisible ne porte la référence « {reference} ».")
    entry.load_record()
    echo(f"{entry.reference} — reçue le {format_received(entry)} — statut : {status_label(entry.status)}")
    if entry.version > 1:
        by = entry.record.get("contact_set_by")  # a contact a reviewer restored (porteur/revocation.py)
        what = f"adresse de contact changée par {by}" if by else "corrigée par le porteur"
        echo(f"Version {entry.version} ({what} le {entry.record.get('corrected_at')}) : "
              f"{entry.version} versions, la plus récente ci-dessous")
    if entry.flags:
        echo("Signalements : " + ", ".join(flag_label(f) for f in entry.flags))
    for other, kind in entry.duplicates:
        echo(f"Doublon possible : {other} (même {'SIRET' if kind == 'siret' else 'e-mail'})")
    for problem in entry.problems:
        echo(f"À vérifier : {problem}")
    echo("")
    for field in form.fields:
        value = answer_text(form, field, entry.answers.get(field.name))
        echo(f"{field.label} :")
        for line in (value.splitlines() or ["—"]):
            echo(f"    {line}")
    echo("\nHistorique :")
    try:
        history = read_history(appstate.store(), reference)
    except StatusError as error:
        echo(f"    {error}")
        raise SystemExit(1) from None
    if not history["events"]:
        echo("    (aucun changement)")
    for event in history["events"]:
        what = (f"{status_label(event['from'])} → {status_label(event['to'])}" if event["kind"] == "status"
                else EVENT_LABELS.get(event["kind"], event["kind"]))
        note = f" : {event['note']}".replace("\n", "\n        ") if event.get("note") else ""
        echo(f"    {event['at']}  {event['by']}  {what}{note}")
        if event.get("motivation"):
            echo(f"        Motivation communiquée au porteur : {event['motivation']}".replace("\n", "\n        "))


STDOUT_CUT_SHORT = "L'export envoyé sur la sortie standard est incomplet : ne l'utilisez pas."


@click.command("export")
@with_appcontext
@as_data_owner
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Fichier à écrire, hors du dossier des données (par défaut un nom qui dit ce qui est exporté, "
                   "par exemple candidatures-calvados-en-instruction-20210615.xlsx ; « - » pour la sortie "
                   "standard). Lisible par vous seul.")
@click.option("--remplacer", is_flag=True, help="Remplacer le fichier s'il existe déjà (sinon l'export est refusé).")
@_filters
def export_command(fmt, output, remplacer, status, thematique, departement, type_structure) -> None:
    """Export the submissions as a spreadsheet (columns from the form definition)."""
    form = appstate.form()
    selection = _selection(status, thematique, departement, type_structure)
    index = app_index()
    chosen = index.select(selection)
    cut: list = []  # the cells an XLSX export cuts to fit (exports_xlsx.CutCell)
    writer = partial(FORMATS[fmt].writer, cut=cut) if fmt == "xlsx" else FORMATS[fmt].writer
    if output == "-":
        with _output_errors():
            count = writer(form, read_whole(chosen, STDOUT_CUT_SHORT), sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        output = output or export_name(fmt, current_now(appstate.facts())[0].date(), form,
                                       departement=selection.departement, thematique=selection.thematique,
                                       type_structure=selection.type_structure, status=selection.status)
        with _output_errors():
            refuse_inside(output, appstate.data_dir())
            with new_file(output, data_dir=appstate.data_dir(), replace=remplacer) as handle:
                count = writer(form, read_whole(chosen), handle)
        echo(f"{count} candidature(s) exportée(s) dans {output}.", err=True)
    if cut:
        from ..exports_xlsx import cut_warning

        echo(cut_warning(cut), err=True)
    warn_files(index.warnings())


@click.command("stats")
@with_appcontext
@as_data_owner
@click.option("--graphiques", type=click.Path(file_okay=False), default=None,
              help="Dossier où écrire aussi les graphiques SVG du tableau de bord (hors du dossier des données).")
@click.option("--remplacer", is_flag=True, help="Remplacer les graphiques déjà présents dans ce dossier.")
def stats_command(graphiques, remplacer) -> None:
    """Counts by thématique, département, type of organisation, ISO week and status (and the charts as SVG)."""
    form = appstate.form()
    index = app_index()
    counts = index.count_by()

    def label(field: str, value: str) -> str:
        try:
            return form.choice_label(field, value)
        except KeyError:
            return value

    sections = [
        ("Thématique", counts["thematique"], lambda v: label("thematiques", v)),
        ("Département", counts["departement"], lambda v: f"{v} — {DEPARTEMENTS[v]}" if v in DEPARTEMENTS else v),
        ("Type de structure", counts["type_structure"], lambda v: label("type_structure", v)),
        ("Semaine de réception", counts["semaine"], str),
        ("Statut", counts["statut"], status_label),
    ]
    echo(f"{index.total()} candidature(s).")
    for title, counter, name in sections:
        ordered = sorted(counter.items(), key=lambda item: item[0]) if title.startswith("Semaine") else counter.most_common()
        echo("\n" + table([title, "Nombre"], ([name(key), count] for key, count in ordered)))
    if graphiques:
        _write_charts(graphiques, counts, remplacer)
    warn_files(index.warnings())


def _write_charts(folder: str, counts, replace: bool) -> None:
    from .charts import dashboard_charts, svg  # here: pygal is for --graphiques only

    charts = dashboard_charts(counts, appstate.form(), appstate.facts(), current_now(appstate.facts())[0].date())
    with _output_errors():
        refuse_inside(folder, appstate.data_dir())
        write_files(folder, {f"{chart.name}.svg": svg(chart).encode("utf-8") for chart in charts},
                    data_dir=appstate.data_dir(), replace=replace)
    echo(f"\n{len(charts)} graphique(s) écrit(s) dans {folder} : "
               + ", ".join(f"{chart.name}.svg" for chart in charts) + ".", err=True)


@contextlib.contextmanager
def _output_errors() -> Iterator[None]:
    """A file that cannot be written where asked: one French line naming it, exit 1."""
    try:
        yield
    except OutputError as error:
        raise click.ClickException(str(error)) from None


@click.command("status")
@with_appcontext
@as_data_owner
@click.argument("reference")
@click.argument("new_status", metavar="STATUT")
@click.option("--note", default="", help="Note interne : pourquoi ce changement (jamais montrée au porteur).")
@click.option("--motivation", default="",
              help="Pour une décision seulement : motivation communiquée au porteur, reprise dans sa lettre de "
                   "réponse (« answers »).")
@click.option("--by", help="Qui fait ce changement (par défaut : l'utilisateur du système).")
def status_command(reference, new_status, note, motivation, by) -> None:
    """Change a submission's status (reçu → en instruction → an outcome)."""
    try:
        history = change_status(appstate.store(), reference, new_status, by=who(by), note=note,
                                motivation=motivation)
    except (StatusError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    echo(f"{reference} : {status_label(history['status'])}.")
    if history["status"] in OUTCOMES and not motivation.strip():
        echo("Aucune motivation communiquée au porteur : sa lettre ne partira pas avec « answers --send » ; "
             "écrivez-la sur la page du dossier (« Réponse au porteur »).")


@click.command("note")
@with_appcontext
@as_data_owner
@click.argument("reference")
@click.argument("text")
@click.option("--by", help="Qui écrit cette note (par défaut : l'utilisateur du système).")
def note_command(reference, text, by) -> None:
    """Add a note to a submission's history."""
    try:
        add_note(appstate.store(), reference, text, by=who(by))
    except (StatusError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    echo(f"Note ajoutée à {reference}.")


@click.command("check")
@with_appcontext
@as_data_owner
def check_command() -> None:
    """Check that every record parses and validates against the form; exit code 1 otherwise."""
    catalog = _catalog(thorough=True)
    for line in catalog.unreadable:
        echo(f"ILLISIBLE  {line}")
    for line in catalog.invalid:
        echo(f"INVALIDE   {line}")
    bad = len(catalog.unreadable) + len(catalog.invalid)
    records = len(catalog.entries) + sum(not line.startswith("reviews/") for line in catalog.unreadable)
    echo(f"{records} enregistrement(s) vérifié(s), {bad} fichier(s) en erreur.")
    if bad:
        sys.exit(1)


@contextlib.contextmanager
def _account_errors() -> Iterator[None]:
    """A refused name or password, or a store out of reach: one French line, exit 1, nothing changed."""
    try:
        yield
    except UserError as error:
        raise click.ClickException(str(error)) from error
    except StoreUnavailable as error:
        raise click.ClickException(f"{error} : rien n'a été modifié ; relancez la commande quand la base "
                                   "répond.") from error


@click.command("create-user")
@with_appcontext
@as_data_owner
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
def create_user_command(name, password_stdin) -> None:
    """Create a reviewer account (or change its password)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmez le mot de passe")
    with _account_errors():
        created = appstate.store().reviewers.set_password(name, password)
    echo(f"Compte « {name} » {'créé' if created else 'mis à jour'}.")


@click.command("delete-user")
@with_appcontext
@as_data_owner
@click.argument("name")
def delete_user_command(name) -> None:
    """Remove a reviewer account (its sessions end at once)."""
    with _account_errors():
        removed = appstate.store().reviewers.remove(name)
    if not removed:
        raise click.ClickException(f"Aucun compte « {name} » : rien n'a été supprimé.")
    echo(f"Compte « {name} » supprimé ; ses sessions sont terminées.")


COMMANDS = [list_command, show_command, export_command, stats_command, status_command, note_command,
            check_command, create_user_command, delete_user_command]
