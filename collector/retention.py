"""The RGPD retention: `flask --app collector purge` removes what is older than
legal.retention_months (ami.yaml), counted from each dossier's receipt as the privacy page says,
or, with `--reference`, the dossiers an erasure request names: each dossier's record, its corrected versions, its
history, its e-mails and its submission ids; and the lost-link requests no mailer handled
within link_requests.MAX_AGE.

A role of its own: it asks the store it is given (`store.retention`, stores/retention.py)
which dossiers are old and to forget them, on the data folder or on PostgreSQL alike; the
output is the same on both. A dossier the store could not forget entirely stops the purge
with a French message and exit status 1: it is found again by the next purge, which
finishes it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from . import appstate, link_requests
from .commandline import IsoDate, echo, warn_files
from .owner import as_data_owner
from .records import RecordError
from .statuses import PARIS, REFERENCE_PATTERN
from .stores.retention import Aged, Received

if TYPE_CHECKING:
    from .stores.base import Store


ANY_DAY = date(9999, 1, 1)  # with --reference, a dossier is found whatever the day of its receipt


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
@click.option("--today", type=IsoDate(), help="Date de référence (par défaut : aujourd'hui).")
@click.option("--reference", "references", multiple=True, metavar="RÉFÉRENCE",
              help="Supprimer ce dossier quel que soit son âge (une demande d'effacement, RGPD article 17) ; "
                   "répétable. Sans cette option : les dossiers reçus depuis plus que la durée de conservation.")
def purge_command(dry_run, today, references) -> None:
    """Remove the records older than legal.retention_months, or the dossiers named by --reference,
    with their history and mails (RGPD)."""
    months = appstate.facts()["legal"]["retention_months"]
    day = (today or datetime.now()).date()
    limit = ANY_DAY if references else _months_before(day, months)
    store = appstate.store()
    retention = store.retention
    try:
        # An erasure reads the named dossiers from the store itself: the data folder's review
        # index lists no record it cannot read (a hand edit gone wrong), which must go all the same.
        aged = named_dossiers(store, references) if references else retention.received_before(limit)
    except OSError as error:  # the database out of reach (StoreUnavailable), the data folder unreadable
        echo(f"Erreur : impossible de lire les candidatures ({error}) : rien n'a été supprimé. "
             "Relancez « flask --app collector purge » quand le stockage répond à nouveau.", err=True)
        raise SystemExit(1) from None
    received = {dossier.reference: dossier.received_at for dossier in aged.dossiers}
    verb = "serait supprimée" if dry_run else "supprimée"
    forgotten = iter(received) if dry_run else retention.forget(list(received))
    done = 0
    try:
        for reference in forgotten:
            echo(f"{reference} ({_received_text(received[reference])}) {verb}, "
                 "avec son historique et ses e-mails.")
            done += 1
    except OSError as error:
        _stop(list(received)[done], error, aged.warnings)
    finally:
        if done and not dry_run:
            _clear_host_index()
    if references:
        echo(f"{len(received)} candidature(s) nommée(s) "
             + ("à supprimer (simulation : rien n'a été supprimé)." if dry_run else "supprimée(s) à la demande."))
    else:
        echo(f"{len(received)} candidature(s) antérieure(s) au {limit:%d/%m/%Y} (conservation : {months} mois) "
             + ("à supprimer (simulation : rien n'a été supprimé)." if dry_run else "supprimée(s)."))
    try:
        expired = 0 if dry_run else store.link_requests.remove_expired()
    except OSError as error:
        expired = 0
        echo(f"Les demandes de lien de dossier anciennes n'ont pas pu être supprimées ({error}) : relancez "
             "« purge » plus tard.", err=True)
    if expired:
        echo(f"{expired} demande(s) de lien de dossier non traitée(s) depuis plus de "
             f"{link_requests.MAX_AGE.days} jours supprimée(s).")
    warn_files(aged.warnings)


def named_dossiers(store: Store, references: tuple[str, ...]) -> Aged:
    """The dossiers an erasure request names, in the order given, read from the store (not from
    an index); every name must be a stored dossier (else a French message and exit 1, before
    anything is deleted). A record that cannot be read is erased all the same: its time of
    receipt is then unknown (None)."""
    found: list[Received] = []
    unknown = []
    for reference in dict.fromkeys(references):
        if not REFERENCE_PATTERN.match(reference) or not store.has_record(reference):
            unknown.append(reference)
            continue
        found.append(Received(reference, _received_at(store, reference)))
    if unknown:
        echo("Erreur : aucune candidature ne porte la référence " + ", ".join(f"« {name} »" for name in unknown)
             + " : rien n'a été supprimé. Vérifiez la référence (« flask --app collector list »).", err=True)
        raise SystemExit(1)
    return Aged(found)


def _received_at(store: Store, reference: str) -> datetime | None:
    """When the dossier's record says it was received (Paris time); None when it cannot be read."""
    try:
        record = store.read_record(reference)
        return datetime.fromisoformat(str(record["received_at"])).astimezone(PARIS) if record else None
    except (RecordError, KeyError, TypeError, ValueError):
        return None


def _received_text(moment: datetime | None) -> str:
    return f"reçue le {moment:%d/%m/%Y %H:%M}" if moment is not None else "date de réception illisible"


def _clear_host_index() -> None:
    """Drop the forgotten dossiers' rows from this host's review index at once (the other
    hosts' mailers do the same within COLLECTOR_INDEX_SYNC_SECONDS: review/index_upkeep.py)."""
    from .review.index_upkeep import sync_host_index  # here: the other commands need no index

    try:
        sync_host_index(current_app._get_current_object())  # type: ignore[attr-defined]
    except Exception as error:  # noqa: BLE001 - the dossiers are forgotten; only the index lags
        echo(f"Attention : l'index d'instruction de ce serveur n'a pas pu être mis à jour ({type(error).__name__}) : "
             "il garde les dossiers supprimés jusqu'à sa prochaine mise à jour par le mailer. Lancez "
             "« flask --app collector reindex » pour le reconstruire sans eux.", err=True)


def _stop(reference: str, error: OSError, warnings: list[str]) -> None:
    """Say in French which dossier could not be forgotten and how to finish, then exit 1."""
    cause = f"{error.filename} : {error.strerror}" if error.filename else str(error)
    echo(f"Erreur : la suppression de {reference} n'a pas pu aller au bout ({cause}). Son enregistrement est "
         "conservé, comme les candidatures suivantes : corrigez la cause, puis relancez « flask --app collector "
         "purge », qui la retrouvera et terminera sa suppression.", err=True)
    warn_files(warnings)
    raise SystemExit(1)


COMMANDS = [purge_command]
