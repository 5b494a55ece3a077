"""Where the `flask --app collector <command>` commands are registered, one module per role:

    review/commands.py   list, show, export, stats, status, note, check, create-user, delete-user
    review/indexing.py   reindex          (registered with the review pages, as are
    review/exchanges.py  message           `message` and `answers`, next to the code
    review/answer_pages.py  answers        they drive)
    retention.py         purge (RGPD)
    mail/commands.py     send-mail         (mail/mailer.py: `mailer`, registered by mail.init_app)

Shared helpers (printing, tables, who acts) are in commandline.py. On the command line, Click's
own messages (usage, errors) are French: cli_french.py.
"""

from __future__ import annotations

from flask import Flask

from . import cli_french, retention
from .mail import commands as mail_commands
from .review import commands as review_commands


def init_app(app: Flask, for_a_command: bool = False) -> None:
    """Register the reviewers', the retention's and the mail's commands on the app's `flask` command;
    `for_a_command` (the `flask` command line builds the app): Click speaks French from now on."""
    if for_a_command:
        cli_french.install()
    for command in review_commands.COMMANDS + retention.COMMANDS + mail_commands.COMMANDS:
        app.cli.add_command(command)

