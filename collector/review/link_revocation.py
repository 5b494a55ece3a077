"""Reviewers revoke a dossier's link: from the detail page (`POST /instruction/<REF>/lien`,
session and CSRF token like every review post) and with
`flask --app collector revoke-link REF [--contact EMAIL]`.

The dossier's previous links stop opening it (porteur/revocation.py: the link generation,
kept in its history, goes up by one) and the new link is e-mailed to the contact: the current
one, or the address the reviewer gives, which becomes the dossier's contact (a new version of
the answers) when a leaked link was used to move the contact elsewhere. The previous address
is then told that its link no longer works, without any link. Each step is durable before the
next and before anything says « fait »: the version, the event, then the mails in the outbox
(mail/revocation.py; the mailer's catch-up queues them from the history if that failed).
"""

from __future__ import annotations

import click
from flask import Blueprint, Flask, flash, redirect, request, session, url_for
from flask.cli import with_appcontext

from .. import appstate
from ..mail import lifecycle, revocation as revocation_mails
from ..addresses import visible_part
from ..commandline import echo, who
from ..owner import as_data_owner
from ..phase import current_now
from ..porteur.revocation import Revocation, RevocationError, revoke_link
from ..records import RecordError
from ..resent_posts import ResentWithOtherContent
from ..statuses import StatusError
from ..stores import StoreUnavailable
from . import CONFIRMATION, _detail, _guard, _no_store

bp = Blueprint("link_revocation", __name__, url_prefix="/instruction")
bp.before_request(_guard)
bp.after_request(_no_store)

UNREADABLE = "Le dossier est illisible : lancez « check » avant de révoquer son lien."
ALREADY_REVOKED = ("Ce lien était déjà révoqué par ce formulaire (envoyé deux fois) : il n'est révoqué qu'une fois, "
                   "et le nouveau lien n'est envoyé qu'une fois.")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(revoke_link_command)


def revoke(reference: str, by: str, new_contact: str | None, post_id: str | None = None) -> Revocation | None:
    """Revoke the link (and set the contact), durably, then queue the mails; the revocation, or
    None when the form's one-time `post_id` was already stored (nothing revoked nor mailed again).
    RevocationError or StatusError (French) when refused: then nothing is stored."""
    store, facts = appstate.store(), appstate.facts()
    now, _preview = current_now(facts)  # AMI_NOW in previews and tests
    revocation = revoke_link(store, reference, by=by, form=appstate.form(), new_contact=new_contact, now=now,
                             post_id=post_id)
    if revocation is None:
        return None
    revocation_mails.queue_revocation_mails(store, revocation, facts, lifecycle.settings())
    return revocation


def done_message(revocation: Revocation) -> str:
    """What the reviewer is told once the revocation is stored and its mails queued."""
    text = (f"Lien du dossier {revocation.reference} révoqué : les liens envoyés jusqu'ici n'ouvrent plus le "
            f"dossier. Le nouveau lien part par e-mail à {revocation.contact}.")
    if revocation.previous_contact:
        text += (f" Cette adresse est désormais le contact du dossier ; l'ancienne ({revocation.previous_contact}) "
                 "est prévenue que son lien ne fonctionne plus.")
    return text


@bp.route("/<reference>/lien", methods=["POST"])
def post_revocation(reference: str):
    new_contact = (request.form.get("nouveau_contact") or "").strip() or None
    try:
        revocation = revoke(reference, session["reviewer"], new_contact, request.form.get("id_envoi"))
    except (RevocationError, StatusError) as error:
        return _detail(reference, 400, revocation_error=str(error), contact_value=visible_part(new_contact or ""))
    except RecordError:
        return _detail(reference, 400, revocation_error=UNREADABLE)
    except ResentWithOtherContent as error:  # nothing revoked nor mailed: the address typed is shown back
        return _detail(reference, 409, revocation_error=str(error), contact_value=visible_part(new_contact or ""))
    flash(ALREADY_REVOKED if revocation is None else done_message(revocation))
    return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)


@click.command("revoke-link")
@with_appcontext
@as_data_owner
@click.argument("reference")
@click.option("--contact", metavar="E-MAIL",
              help="Adresse à laquelle envoyer le nouveau lien, qui devient le contact du dossier "
                   "(par défaut : le contact actuel).")
@click.option("--by", help="Qui révoque (par défaut : l'utilisateur du système).")
def revoke_link_command(reference: str, contact: str | None, by: str | None) -> None:
    """Revoke a dossier's link: the links sent so far stop opening it, and the new link is
    e-mailed to the contact (or to --contact, which becomes the dossier's contact)."""
    try:
        revocation = revoke(reference, who(by), contact)  # no post id from a shell: never None
    except (RevocationError, StatusError) as error:
        raise click.ClickException(str(error)) from None
    except RecordError as error:
        raise click.ClickException(f"Dossier illisible : {error}") from None
    except StoreUnavailable as error:  # PostgreSQL out of reach (a restart): the revocation's event is not stored
        raise click.ClickException(
            f"{error} : le lien n'est pas révoqué (si vous donniez --contact, ce contact a pu être enregistré "
            "déjà). Relancez la même commande quand la base répond à nouveau : elle termine la révocation.") from None
    echo(done_message(revocation) + " Les e-mails attendent dans la file d'envoi (le collecteur les envoie, "
               "ou « send-mail »).")
