"""The mail commands: `flask --app collector send-mail` delivers the outbox now (the
`mailer` process, mail/mailer.py, does it continuously; see README, "Mail").

Nothing here imports the review package.
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from .. import appstate
from . import lifecycle
from ..commandline import echo
from ..config import ConfigError
from .delivery import check_sender
from ..owner import as_data_owner


@click.command("send-mail")
@with_appcontext
@as_data_owner
def send_mail_command() -> None:
    """Deliver the e-mails waiting in the outbox now."""
    from .mailer import send_once

    settings = lifecycle.settings()  # the environment's, able to sign the dossier links
    try:
        check_sender(settings)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    store = appstate.store()
    done = send_once(appstate.data_dir(), appstate.facts(), appstate.form(), settings, store)
    if done is None:
        echo("Le mailer est en marche (il tient state/mailer.lock) : c'est lui qui envoie les e-mails en attente. "
             "Rien n'a été envoyé par cette commande.")
        return
    queued, report = done
    if queued:
        echo(f"{len(queued)} e-mail(s) manquant(s) mis en file d'attente.", err=True)
    echo(f"{len(report.sent)} envoyé(s), {len(report.deferred)} en attente, {len(report.failed)} refusé(s).")
    for name in report.failed:
        echo(f"Refusé définitivement : {name} (voir le dossier failed/)", err=True)
    if report.error:
        echo(f"Attention : {report.error}.", err=True)
    if report.error or report.failed:
        sys.exit(1)


COMMANDS = [send_mail_command]
