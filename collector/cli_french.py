"""Click's own messages in French for the `flask --app collector …` commands.

Click marks what it prints (« Usage: », « Error: No such option », « Missing argument »,
« Show this message and exit. », a bad choice or number) with the standard library's
`gettext.gettext`, which reads the process's default text domain. The commands make that
domain our catalogue, `locale/fr/LC_MESSAGES/collector-cli.mo` (compiled from the `.po`
beside it), and ask for French through `LANGUAGE`, the variable gettext reads first and
only for messages (dates and numbers keep the system's locale). A message missing from the
catalogue stays as Click wrote it, so a newer Click can only add English, never break.

The commands' descriptions (the command list, each command's --help) are French too:
DESCRIPTIONS, one per command, set on the commands then; their docstrings stay the code's.

Installed when the `flask` command line builds the app (cli.py), never in the service or
the tests' processes: Flask's own group options (`flask --app collector --bogus`) are
parsed before the app is loaded and stay English.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from flask import Flask

DOMAIN = "collector-cli"
LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")


def install() -> None:
    """From now on, Click's messages in this process are French."""
    gettext.bindtextdomain(DOMAIN, LOCALE_DIR)
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = "fr"


# What each command does, as `flask --app collector --help` lists it (its first sentence) and as
# `flask --app collector COMMAND --help` shows it. A command added without one fails
# tests/review/test_command_french.py.
DESCRIPTIONS = {
    "answers": "Les réponses de juillet : quelle lettre pour quel dossier (--dry-run), ou leur envoi (--send).",
    "check": "Vérifie que chaque dossier se lit et respecte le formulaire ; code de sortie 1 sinon.",
    "create-user": "Crée un compte d'instructeur (ou change son mot de passe).",
    "db-upgrade": "Met le schéma PostgreSQL à la version de ce code (sans effet s'il y est déjà).",
    "delete-user": "Supprime un compte d'instructeur (ses sessions prennent fin aussitôt).",
    "dump": "Écrit le contenu du stockage dans le dossier CIBLE (nouveau ou vide), au format du dossier des "
            "données : dossiers, identifiants d'envoi, compteur, historiques et versions corrigées.",
    "export": "Exporte les candidatures en tableur (CSV, XLSX ou ODS ; colonnes tirées du formulaire).",
    "list": "Liste les candidatures (référence, réception, structure, thématiques, département, statut, "
            "signalements).",
    "mailer": "Compose, met en file et envoie les e-mails jusqu'à l'arrêt (SIGTERM, Ctrl-C) ; un processus, à côté "
              "de gunicorn.",
    "message": "Écrit à un porteur (TEXTE ; « - » le lit sur l'entrée standard) : gardé dans le dossier et envoyé "
               "par e-mail avec le lien du dossier.",
    "migrate-store": "Copie un dossier des données dans le stockage PostgreSQL vide (une seule fois ; vérifié par "
                     "les nombres et les empreintes).",
    "note": "Ajoute une note à l'historique d'un dossier.",
    "purge": "Supprime les dossiers reçus depuis plus de legal.retention_months mois, ou ceux que nomme "
             "--reference, avec leur historique et leurs e-mails (RGPD).",
    "reindex": "Reconstruit l'index d'instruction à partir des dossiers du stockage (sans risque, même pendant que "
               "le collecteur tourne).",
    "revoke-link": "Révoque le lien d'un dossier : les liens envoyés jusque-là ne l'ouvrent plus, et le nouveau lien "
                   "est envoyé au contact (ou à --contact, qui devient le contact du dossier).",
    "send-mail": "Envoie maintenant les e-mails en attente.",
    "show": "Affiche un dossier en entier : réponses et leurs libellés, signalements, doublons, historique.",
    "stats": "Décomptes par thématique, département, type de structure, semaine ISO et statut (et les graphiques "
             "en SVG).",
    "status": "Change le statut d'un dossier (reçu → en instruction → une décision).",
    # Flask's own commands
    "routes": "Affiche les routes de l'application.",
    "run": "Lance un serveur de développement.",
    "shell": "Ouvre un interpréteur Python dans le contexte de l'application.",
}


def describe(commands: Iterable[click.Command]) -> None:
    """Give `commands` their French descriptions (in this process: the `flask` command line), and
    name their options and arguments in errors between French quotes."""
    for command in commands:
        if command.name in DESCRIPTIONS:
            command.help, command.short_help = DESCRIPTIONS[command.name], None
        for param in command.params:
            param.get_error_hint = _quoted_hint(param.get_error_hint)  # type: ignore[method-assign]


_CLICK_QUOTES = re.compile(r"'([^']*)'")


def _quoted_hint(click_hint: Callable[[click.Context | None], str]) -> Callable[[click.Context | None], str]:
    """An option's or argument's name as errors give it, « --output » / « -o » rather than Click's
    '--output' / '-o': « Valeur invalide pour « --status » : … », « Il manque l'argument « REFERENCE ». »."""
    return lambda ctx: _CLICK_QUOTES.sub(r"« \1 »", click_hint(ctx))


def describe_in_french(app: Flask) -> None:
    """Every command of the `flask` command line gets its French description: once all the roles
    have registered theirs (app.py), with Flask's own and the `db-upgrade` plugin."""
    from flask.cli import routes_command, run_command, shell_command

    from .stores.commands import db_upgrade_command  # a plugin command: the `flask` command line has loaded it

    describe([*app.cli.commands.values(), db_upgrade_command, routes_command, run_command, shell_command])
