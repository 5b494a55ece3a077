"""Reviewers write to the porteur: from the detail page (`POST /instruction/<REF>/message`)
and with `flask --app collector message REF`.

A message may ask for complements until a date, which reopens the porteur's corrections
for that dossier until then (dossier.corrections_until). It is stored durably in the
dossier's history before anything says so, then e-mailed through the outbox with the
dossier's link (mail/lifecycle.py): SMTP being down delays it, never loses it.
"""

from __future__ import annotations

import click
from flask import Blueprint, Flask, flash, redirect, request, session, url_for
from flask.cli import with_appcontext

from .. import dossier
from ..mail import lifecycle
from ..phase import current_now
from ..records import RecordError
from ..resent_posts import ResentWithOtherContent
from ..statuses import StatusError
from . import CONFIRMATION, _detail, _guard, _no_store
from .. import appstate
from ..owner import as_data_owner
from ..commandline import who

bp = Blueprint("exchanges", __name__, url_prefix="/instruction")
bp.before_request(_guard)
bp.after_request(_no_store)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(message_command)


NOT_QUEUED = (" Son e-mail n'a pas pu être mis dans la file d'envoi pour l'instant (stockage momentanément "
              "indisponible) : le programme d'envoi des e-mails (mailer) l'y mettra et l'enverra de lui-même dès "
              "que possible, ou lancez « flask --app collector send-mail » ; ne renvoyez pas le message.")


POST_ID_FIELD = "id_envoi"  # the form's one-time id (dossier.append_once): a double click stores one message


def send_message(reference: str, text: str | None, by: str, complements_until: str | None,
                 post_id: str | None = None) -> tuple[dict, bool] | None:
    """Store the message, then queue its e-mail; (the stored event, whether its e-mail is
    queued now: if not, the mailer's catch-up queues it), or None when the form's one-time
    `post_id` was already stored (nothing stored nor mailed again). ExchangeError/StatusError if refused."""
    store, facts = appstate.store(), appstate.facts()
    record = dossier.latest_record(store, reference)
    now, _preview = current_now(facts)  # AMI_NOW in previews and tests
    stored = dossier.write_to_porteur(store, reference, text, by=by, now=now, post_id=post_id,
                                      complements_until=(complements_until or "").strip() or None,
                                      kept_until=dossier.retention_end(record, facts["legal"]["retention_months"]))
    if stored is None:
        return None
    event, number = stored
    return event, lifecycle.queue_message_to_porteur(store, record, event, number, facts)


ALREADY_SENT = ("Ce message était déjà enregistré (le formulaire a été envoyé deux fois) : il n'est enregistré et "
                "envoyé qu'une fois.")


@bp.route("/<reference>/message", methods=["POST"])
def post_message(reference: str):
    try:
        sent = send_message(reference, request.form.get("message", ""), session["reviewer"],
                            request.form.get("complements_jusqu_au"), request.form.get(POST_ID_FIELD))
    except (dossier.ExchangeError, StatusError) as error:
        errors = getattr(error, "errors", None) or {dossier.MESSAGE_FIELD: str(error)}
        return _detail(reference, 400, message_errors=errors, message_value=request.form.get("message", ""),
                       until_value=request.form.get("complements_jusqu_au", ""))
    except RecordError:
        return _detail(reference, 400,
                       message_errors={dossier.MESSAGE_FIELD: "Le dossier est illisible : lancez « check »."})
    except ResentWithOtherContent as error:  # nothing stored nor mailed: the text typed is shown back
        return _detail(reference, 409, message_errors={dossier.MESSAGE_FIELD: str(error)},
                       message_value=request.form.get("message", ""),
                       until_value=request.form.get("complements_jusqu_au", ""))
    if sent is None:
        flash(ALREADY_SENT)
        return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)
    event, queued = sent
    done = ("Message enregistré ; il part par e-mail au porteur et s'affiche sur sa page de dossier." if queued else
            "Message enregistré ; il s'affiche sur la page de dossier du porteur." + NOT_QUEUED)
    if event.get("complements_until"):
        done += " Les corrections lui sont ouvertes jusqu'à la date choisie."
    flash(done)
    return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)


@click.command("message")
@with_appcontext
@as_data_owner
@click.argument("reference")
@click.argument("text")
@click.option("--until", metavar="JJ/MM/AAAA",
              help="Demande de compléments : le porteur peut corriger ses réponses jusqu'à cette date.")
@click.option("--by", help="Qui écrit (par défaut : l'utilisateur du système).")
def message_command(reference: str, text: str, until: str | None, by: str | None) -> None:
    """Write to a porteur (TEXT; « - » reads it from standard input): stored in the dossier,
    e-mailed with the dossier's link."""
    if text == "-":
        text = click.get_text_stream("stdin").read()
    try:
        _event, queued = send_message(reference, text, who(by), until)  # type: ignore[misc] # no post id: never None
    except (dossier.ExchangeError, StatusError) as error:
        raise click.ClickException(str(error)) from None
    except RecordError as error:
        raise click.ClickException(f"Dossier illisible : {error}") from None
    if not queued:
        click.echo(f"Message enregistré pour {reference}." + NOT_QUEUED)
        return
    click.echo(f"Message enregistré pour {reference} ; il attend dans la file d'envoi (le collecteur l'envoie, "
               "ou « send-mail »).")
