"""The porteur answers the Région's messages on the dossier page.

`POST /candidater/recu/<REF>/repondre?cle=<key>` (field `message`): refused from another
site, limited per client, capped in length, French errors on the dossier page with the
text kept. Stored durably in the dossier's history (dossier.write_porteur_reply) before
the porteur is told; then the Région is notified through the outbox.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, redirect, request

from .. import dossier, porteur_mail
from ..errors import Refusal
from ..phase import current_now
from .. import appstate
from .views import DONE, bad_link, checked_reference, dossier_context, dossier_path, guard_post, page

log = logging.getLogger("collector.porteur")
bp = Blueprint("porteur_exchanges", __name__)

FIELD = "message"
DONE["message"] = "Votre message est enregistré et transmis à la Région."


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.post("/candidater/recu/<reference>/repondre")
def reply(reference: str) -> Response:
    checked = checked_reference(reference, request.args.get("cle"))
    if checked is None:
        return bad_link()
    guard_post("Ce message")
    store = appstate.store()
    if not dossier.can_reply(dossier.safe_history(store, checked)):
        raise Refusal(403, "Vous pourrez écrire ici dès que la Région vous aura adressé un message. "
                           "En attendant, écrivez aux contacts de l'AMI.")
    text = request.form.get(FIELD, "")
    try:
        event, number = dossier.write_porteur_reply(store, checked, text, now=current_now(appstate.facts())[0])
    except dossier.ExchangeError as error:
        return page("porteur/dossier.html", 422, message_error=str(error), message_value=text[:20000],
                    **dossier_context(checked))
    except OSError as error:
        log.error("porteur reply not stored (%s): nothing confirmed", error.__class__.__name__)
        raise Refusal(503, "Votre message n'a pas pu être enregistré pour le moment : il n'a PAS été transmis. "
                           "Réessayez dans quelques minutes.") from error
    log.info("porteur reply: %s", checked)
    porteur_mail.queue_porteur_reply_notice(store, dossier.latest_record(store, checked), event, number,
                                            appstate.facts())
    return redirect(dossier_path(appstate.secret(), checked) + "&fait=message#echanges", 303)
