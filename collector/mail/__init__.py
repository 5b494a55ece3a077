"""E-mail: everything the collector sends, composed and queued by its own process.

- delivery.py: the acknowledgement and the Région's notification, the outbox's files, SMTP delivery;
- wire.py: a message's bytes as SMTP carries them;
- lifecycle.py: the mails of a dossier's life after « reçu » (messages, meetings, answers, corrections);
- revocation.py: the mails of a revoked dossier link; current_links.py: a waiting mail's links made current
  when it is sent;
- catch_up.py: lifecycle mails queued again from the histories when their queueing failed;
- mailer.py: the mailer process (`flask --app collector mailer`); commands.py: `send-mail`.

Nothing here imports the review package.
"""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Give the app its `mailer` command. The web workers themselves send no mail: they store
    the record, and the mailer process (collector/mail/mailer.py) composes, queues and sends."""
    from .mailer import mailer_command

    app.cli.add_command(mailer_command)
