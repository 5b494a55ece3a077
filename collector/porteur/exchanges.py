"""The porteur writes to the Région on the dossier page (a question, or an answer to its messages).

`POST /candidater/recu/<REF>/repondre?cle=<key>` (field `message`): refused from another
site, limited per client, capped in length and, per dossier, in number (dossier_caps.py:
429, the text kept, the time from which it can be sent), French errors on the dossier page
with the text kept. Stored durably in the dossier's history (dossier.write_porteur_reply) before
the porteur is told, with the form's one-time id (a double click or a retry after a lost
answer, through any host, stores one reply, notified once); then the Région is notified
through the outbox. Once stored, the answer is a 303 whatever happens next (logged).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, redirect, request

from .. import dossier
from ..mail import lifecycle
from ..errors import Refusal
from ..phase import current_now
from .. import appstate
from ..resent_posts import ResentWithOtherContent
from ..statuses import NoRecord
from . import dossier_caps
from .views import (DONE, back_to_dossier, bad_link, checked_reference, dossier_context, dossier_path, done_query,
                    guard_post, page)

if TYPE_CHECKING:
    from ..stores.base import Store

log = logging.getLogger("collector.porteur")
bp = Blueprint("porteur_exchanges", __name__)

FIELD = "message"
REPLY_ID_FIELD = "id_envoi"  # the form's one-time id (new_reply_id, in the page): one reply per id
DONE["message"] = "Votre message est enregistré et transmis à la Région."


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(new_reply_id)  # the dossier page's reply form holds one


def new_reply_id() -> str:
    """A fresh one-time id for the reply form (dossier.reply_submission_id accepts its shape)."""
    return secrets.token_urlsafe(18)


def _write_counted(store: Store, reference: str, text: str, reply_id: str | None,
                   now: datetime) -> tuple[dict[str, Any], int] | None:
    """Store the message as dossier.write_porteur_reply does, once counted against the dossier's
    cap (dossier_caps.CapReached past it): a text refused, or a form already stored (a double
    click, a retry), counts nowhere, and the count is given back when nothing is stored."""
    dossier.porteur_reply_text(text)  # ExchangeError first: a text to fix uses up nothing
    return dossier_caps.counted_post(store, appstate.secret(), dossier_caps.MESSAGES, reference, reply_id,
                                     lambda: dossier.write_porteur_reply(store, reference, text, now=now,
                                                                         reply_id=reply_id))


@bp.get("/candidater/recu/<reference>/repondre")
def reply_form(reference: str) -> Response:
    """The form's address opened (the address bar after a refused message): the dossier's thread."""
    return back_to_dossier(reference, "echanges")


@bp.post("/candidater/recu/<reference>/repondre")
def reply(reference: str) -> Response:
    checked = checked_reference(reference, request.args.get("cle"))
    if checked is None:
        return bad_link()
    guard_post("Ce message")
    store = appstate.store()  # the porteur may write at any time; a reply's limits hold (dossier.write_porteur_reply)
    text, now = request.form.get(FIELD, ""), current_now(appstate.facts())[0]
    try:
        record = dossier.latest_record(store, checked)  # read before writing: nothing may fail once the reply is stored
        stored = _write_counted(store, checked, text, request.form.get(REPLY_ID_FIELD), now)
    except dossier_caps.CapReached as reached:
        log.info("porteur reply of %s refused: the dossier's cap of %d within %d s", checked, reached.limit,
                 reached.window)
        response = page("porteur/dossier.html", 429, message_error=dossier_caps.too_many_messages(reached, now),
                        message_value=text[:20000], **dossier_context(checked))
        response.headers["Retry-After"] = str(reached.wait)
        return response
    except dossier.ExchangeError as error:
        return page("porteur/dossier.html", 422, message_error=str(error), message_value=text,
                    **dossier_context(checked))
    except ResentWithOtherContent as error:  # nothing stored nor mailed: the text typed is shown back
        return page("porteur/dossier.html", 409, message_error=str(error), message_value=text,
                    **dossier_context(checked))
    except NoRecord:  # the dossier was purged (erased) while this post was on its way: nothing stored
        return bad_link()
    except OSError as error:  # nothing stored: the event and the form's id are one unit (dossier_posts)
        log.error("porteur reply not stored (%s): nothing confirmed", error.__class__.__name__)
        raise Refusal(503, "Votre message n'a pas pu être enregistré pour le moment : il n'a PAS été transmis. "
                           "Réessayez dans quelques minutes.") from error
    if stored is None:
        log.info("porteur reply: %s, already stored (same form sent again)", checked)
    else:
        log.info("porteur reply: %s", checked)
        try:  # stored durably: a notice that cannot be queued must not un-confirm it
            lifecycle.queue_porteur_reply_notice(store, record, *stored, appstate.facts())
        except Exception as error:  # noqa: BLE001 - logged; the reply is in the dossier's history
            log.error("porteur reply notice of %s not queued (%s); the reply is stored", checked,
                      type(error).__name__)
    return redirect(dossier_path(appstate.secret(), checked) + done_query(checked, "message") + "#confirmation", 303)
