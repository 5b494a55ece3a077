"""« J'ai perdu le lien de mon dossier »: the links are e-mailed again to the contact address.

`GET/POST /candidater/dossier-perdu/`. The answer is the same whether or not the address
has a dossier (no one learns who applied), and so is the work behind it: every valid
address within the limits becomes one small durable request in the store
(`store.link_requests`: a file in the data folder, a row in PostgreSQL; link_requests.py),
which a mailer handles (it finds the dossiers and queues the mail, to the address itself).
Valid requests are limited per client (one IPv4 address or one IPv6 /64: 20 an hour,
enough for a workshop in a public digital space; a mistyped address costs no storage and
does not count) and per address (3 mails a day), so the form can flood neither the server
nor a mailbox. The limits are the store's (`store.rate_limiter`), shared by every worker
and, on PostgreSQL, every host.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, request, url_for
from marshmallow import ValidationError

from ..addresses import address_key
from ..errors import Refusal
from ..origin import is_cross_site
from .. import appstate
from ..validation import Email
from .views import offer_way_back, page

log = logging.getLogger("collector.porteur")
bp = Blueprint("lost_link", __name__)

FIELD = "contact_email"
MAX_LENGTH = 254  # what the page keeps of a refused value
PER_CLIENT = (20, 3600)  # valid requests per client address within any hour
PER_ADDRESS = (3, 86400)  # e-mails to one address within any day
# The same words for every address: whether it has a dossier, or is over its daily limit, stays unsaid.
SENT = ("Si cette adresse est celle d'un dossier, nous y envoyons dans les minutes qui viennent un e-mail "
        "contenant le lien de chaque dossier : pensez à regarder dans les indésirables. Une même adresse "
        "reçoit au plus {per_day} de ces e-mails par jour. Rien reçu dans l'heure ? Vérifiez l'adresse "
        "ci-dessus, ou appelez les contacts de l'AMI.").format(per_day=PER_ADDRESS[0])


def init_app(app: Flask) -> None:
    store, secret = appstate.store(app), appstate.secret(app)  # the store's limiters: shared by every host
    app.extensions["ami_lost_link"] = (store.rate_limiter("lien-client", *PER_CLIENT, secret),
                                       store.rate_limiter("lien-adresse", *PER_ADDRESS, secret))
    app.register_blueprint(bp)


def _form(status: int = 200, **context) -> Response:
    return page("porteur/lost_link.html", status, field=FIELD, **context)


@bp.get("/candidater/dossier-perdu/")
def request_form() -> Response:
    return _form()


@bp.post("/candidater/dossier-perdu/")
def send_links() -> Response:
    offer_way_back(url_for("lost_link.request_form"), "Revenir à la page « Lien de dossier perdu »")
    if is_cross_site(request, current_app.config["ALLOWED_ORIGINS"]):
        raise Refusal(403, "Cette demande ne peut être faite que depuis le site de l'AMI : ouvrez la page "
                           "« Lien de dossier perdu » du site et envoyez-la de là.")
    typed = request.form.get(FIELD, "")
    try:
        address = Email(appstate.form().field(FIELD)).deserialize(typed)
    except ValidationError as error:
        message = error.messages[0] if isinstance(error.messages, list) else str(error.messages)
        return _form(422, value=typed[:MAX_LENGTH], error=message)
    if not address:
        return _form(422, value="", error="Indiquez l'adresse e-mail de contact donnée dans le formulaire.")
    by_client, by_address = current_app.extensions["ami_lost_link"]
    wait = by_client.hit(request.remote_addr or "inconnu")  # only valid addresses count
    if wait is not None:
        minutes = max(1, round(wait / 60))
        raise Refusal(429, f"Trop de demandes depuis votre connexion. Patientez environ {minutes} minute(s), "
                           "puis réessayez.", headers={"Retry-After": str(wait)})
    if by_address.hit(address_key(address)) is None:
        try:
            appstate.store().link_requests.write(address)
        except OSError as error:
            log.error("lost link: request not stored (%s)", type(error).__name__)
            raise Refusal(503, "Votre demande n'a pas pu être enregistrée pour le moment : aucun e-mail ne partira. "
                               "Réessayez dans quelques minutes.") from error
    else:
        log.info("lost link: limit reached for one address")
    return _form(sent=SENT, address=address)
