"""What the PostgreSQL store does not carry yet, refused in French instead of half done.

With COLLECTOR_DATABASE_URL, PostgreSQL keeps the intake's data (records, references,
submission ids, the form's rate limit) and each dossier's life after « reçu » (review
histories and corrected versions), so the porteur's corrections, replies and meeting
choices work on every host; each host's mailer sends the mails of what that host stored.
The review tools (pages, accounts, index) and the lost link still keep their data in one
data folder: on several hosts each would see only its own share, and write
where the others cannot read. So, on a store that does not share them, their pages answer
503 with a French page saying what to do, nothing stored, and their commands refuse to
run; reviewers work on a copy made by `flask --app collector dump DIR`.

The data folder shares everything (one server): nothing is refused there.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import click
from flask import Flask, request

from ..errors import Refusal

# Blueprints whose pages read or write what only the data folder keeps yet.
UNSHARED_PAGES = frozenset({"review", "lost_link"})
# Commands that read or write the review data of the data folder.
# (status, note and message write one dossier's history through the store: they run on PostgreSQL.)
UNSHARED_COMMANDS = frozenset({"answers", "check", "create-user", "export", "list", "purge", "reindex", "show",
                               "stats"})

REVIEW_PAGES = ("L'instruction en ligne n'est pas encore disponible quand les dossiers sont gardés dans PostgreSQL "
                "(COLLECTOR_DATABASE_URL) : rien n'a été modifié. Pour instruire, écrivez une copie des dossiers "
                "avec « flask --app collector dump DOSSIER » et utilisez les commandes d'instruction sur cette copie.")
PORTEUR_PAGES = ("Cette action n'est pas disponible pour le moment : rien n'a été enregistré. Pour retrouver le "
                 "lien de votre dossier, écrivez aux contacts de l'AMI (page « Contacts » du site) en indiquant "
                 "votre référence.")
COMMANDS = ("la commande « {name} » lit les données d'instruction d'un dossier de données ; avec "
            "COLLECTOR_DATABASE_URL, les dossiers sont dans PostgreSQL. Écrivez-en une copie avec « flask --app "
            "collector dump DOSSIER », puis lancez « {name} » avec COLLECTOR_DATA_DIR=DOSSIER et sans "
            "COLLECTOR_DATABASE_URL.")


def _refusing(name: str, callback: Any) -> Any:
    @functools.wraps(callback)
    def refuse(*args: Any, **kwargs: Any) -> None:
        click.echo(COMMANDS.format(name=name), err=True)
        raise SystemExit(1)
    return refuse


def guard(app: Flask, shares_everything: bool) -> None:
    """On a store that does not share the review and dossier data, refuse their pages and commands."""
    if shares_everything:
        return

    @app.before_request
    def _refuse_unshared_pages() -> None:
        if request.blueprint in UNSHARED_PAGES:
            raise Refusal(503, REVIEW_PAGES if request.blueprint == "review" else PORTEUR_PAGES)

    for name, command in list(app.cli.commands.items()):
        if name in UNSHARED_COMMANDS and command.callback is not None:
            refusing = copy.copy(command)  # the command objects are shared by every app: change a copy
            refusing.callback = _refusing(name, command.callback)
            app.cli.commands[name] = refusing
