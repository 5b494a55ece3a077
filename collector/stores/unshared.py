"""What a store does not share with every host, refused in French instead of half done.

With COLLECTOR_DATABASE_URL, PostgreSQL keeps the intake's data (records, references,
submission ids, the form's rate limit), each dossier's life after « reçu » (review histories
and corrected versions: the porteur's corrections, replies and meeting choices work on every
host), the reviewers' accounts, sessions and login throttle, the mail outbox that every
host's mailer sends from (postgres_outbox.py), and the lost link: its requests, which any
host's mailer handles (postgres_link_requests.py), its limits and the porteur mail caps
(the shared rate limiter); the RGPD purge forgets old dossiers from all of it
(postgres_retention.py: each dossier in one transaction). The review pages and commands read
the records through the store and its review source (each host's review index is made from
it: stores/review_source.py), so they work on every host. Nothing the collector serves today
keeps its data in one host's folder any more: every page and command is listed below as
shared, and UNSHARED_COMMANDS is empty.

What stays is the guard, so that a page or a command added later that keeps its data in one
data folder is not half done on several hosts (each would see only its own share, and write
where the others cannot read): on a store that does not share everything, a page not listed
here answers 503 with a French page saying what to do, nothing stored, and a command listed
in UNSHARED_COMMANDS refuses to run; reviewers would then work on a copy made by `flask --app
collector dump DIR`. A review page not listed is refused only once the reviewer is logged in
(the login and logout pages work, an anonymous request is sent to the login page as
anywhere), so that the refusal never tells anyone but a reviewer what the server keeps.

Pages fail closed: a page is served on such a store only when its blueprint is listed in
SHARED_PAGES (or is a review page listed in SHARED_REVIEW_PAGES); a blueprint added later is
refused until someone lists it here.

The data folder shares everything (one server): nothing is refused there.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import click
from flask import Flask, request

from ..errors import Refusal
from ..review import unavailable_page

# Blueprints whose pages use only what every store shares; every other page is refused.
SHARED_PAGES = frozenset({"intake", "corrections", "porteur_exchanges", "meeting_choice", "lost_link"})
# The review pages' blueprints (each checks the reviewer's session first: refused after it), and
# their pages that only use what the store shares (accounts, sessions, records, histories).
REVIEW_BLUEPRINTS = frozenset({"review", "exchanges", "answers", "meetings", "link_revocation"})
SHARED_REVIEW_PAGES = frozenset({"review.login", "review.logout", "review.index", "review.detail", "review.set_status",
                                 "review.post_note", "review.export", "review.dashboard", "review.dashboard_chart",
                                 "answers.preview", "answers.edit", "answers.send", "exchanges.post_message",
                                 "meetings.upcoming", "meetings.propose", "meetings.cancel",
                                 "link_revocation.post_revocation"})
# Commands that still keep or remove data in one data folder only: none today (the review commands
# read and write through the store: records, histories, accounts, the index being each host's
# cache of them; purge asks the store which dossiers are old and forgets them: stores/retention.py).
UNSHARED_COMMANDS: frozenset[str] = frozenset()

REVIEW_PAGES = ("L'instruction en ligne n'est pas encore disponible quand les dossiers sont gardés dans PostgreSQL "
                "(COLLECTOR_DATABASE_URL) : rien n'a été modifié. Pour instruire, écrivez une copie des dossiers "
                "avec « flask --app collector dump DOSSIER » et utilisez les commandes d'instruction sur cette copie.")
PORTEUR_PAGES = ("Cette action n'est pas disponible pour le moment : rien n'a été enregistré. Pour retrouver le "
                 "lien de votre dossier, ou pour toute question, écrivez aux contacts de l'AMI (page « Contacts » "
                 "du site) en indiquant votre référence.")
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
        blueprint = request.blueprint
        if blueprint is None or blueprint in SHARED_PAGES or blueprint in REVIEW_BLUEPRINTS:
            return  # the app's own endpoints (/healthz, static files); the review pages: below
        raise Refusal(503, PORTEUR_PAGES)

    def _refuse_review_pages() -> Any:
        if request.endpoint not in SHARED_REVIEW_PAGES:
            return unavailable_page(REVIEW_PAGES)
        return None

    for blueprint in REVIEW_BLUEPRINTS:  # after the blueprint's own session check (Flask runs them in order)
        app.before_request_funcs.setdefault(blueprint, []).append(_refuse_review_pages)

    for name, command in list(app.cli.commands.items()):
        if name in UNSHARED_COMMANDS and command.callback is not None:
            refusing = copy.copy(command)  # the command objects are shared by every app: change a copy
            refusing.callback = _refusing(name, command.callback)
            app.cli.commands[name] = refusing
