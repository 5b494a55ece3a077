"""« J'ai perdu le lien de mon dossier »: the links are e-mailed again to the contact address.

`GET/POST /candidater/dossier-perdu/`. The answer is the same whether or not the address
has a dossier (no one learns who applied), and so is the work behind it: every valid
address within the limits becomes one small durable request in the store
(`store.link_requests`: a file in the data folder, a row in PostgreSQL; link_requests.py),
which a mailer handles (it finds the dossiers and queues the mail, to the address itself).
A mistyped address costs no storage and counts nowhere. Valid requests are limited, with
the store's limiters (`store.rate_limiter`: shared by every worker and, on PostgreSQL,
every host):

- per client (one IPv4 address or one IPv6 /64): 20 an hour, enough for a workshop in a
  public digital space;
- per network (an IPv4 /24, an IPv6 /48: clientaddr.network_group): 100 an hour, five
  workshops at once, where a /48's 65,536 /64s would otherwise be as many clients. Only a
  request sent from the page counts for its network: the page carries the submission form's
  proof (antispam.py: a signed time token and a honeypot), and that proof counts ONCE. The
  token is bound to the network of the client that loaded the page (a keyed hash of its
  /24 or /48), and its one-time id is claimed by the first valid request that brings it
  (`first_use`); a replayed token (the same page sent again, or one page's token sent by a
  robot with many addresses from many clients of its /24) and a token loaded from another
  network count for their client alone, as a post without a token (a script that never
  loaded the page) does: so that robots of a /24 cannot lock its porteurs out by replaying one
  page or by never loading it. Robots that load a fresh page before each request still count
  for their network, as people do (a handful of such clients can reach the network's limit).
  A person is never refused for this: a reload, the back button, a page left open more than
  COLLECTOR_TOKEN_MAX_AGE (an expired token) or a new address within a mobile pool are still
  served, within the client's own limit, and every page sent back carries a fresh token. A
  filled honeypot gets the same answer as everyone, stores nothing and counts for its client
  only;
- per address: 3 mails a day, so the form cannot flood a mailbox;
- and at most MAX_WAITING requests wait for the mailer, whoever sent them: beyond, the page
  answers 503 « réessayez dans quelques minutes » and stores nothing, so that many
  addresses together can fill neither the store nor the mailer's rounds. A cheap count
  first refuses without counting the address; the write then counts again, atomically with
  it (`LinkRequests.write_unless_full`: one flock on the data folder, one transaction under
  an advisory lock on PostgreSQL), so that workers or hosts writing at once at the
  boundary never pass MAX_WAITING together. A request refused there, or that the store could not
  write (503 « réessayez »), gets its address's count back, if it was counted: a limiter that
  could not count (its store out of reach) lets the post through uncounted, and giving back
  then would free one of the address's earlier requests.
"""

from __future__ import annotations

import logging
import time
from typing import NoReturn

from flask import Blueprint, Flask, Response, current_app, request, url_for
from marshmallow import ValidationError

from ..addresses import AddressError, address_key, refuse_invisible, visible_part
from ..antispam import HONEYPOT_FIELD, SUBMISSION_ID_FIELD, TOKEN_FIELD, Tokens, honeypot_filled
from ..clientaddr import network_group
from ..errors import Refusal
from ..network_limit import ClientAndNetworkLimiter, network_limit
from ..origin import is_cross_site
from ..ratelimit import Hit, RateLimiter
from ..template_filters import minutes_fr
from .. import appstate
from ..validation import Email
from .mail_caps import MAILS_PER_ADDRESS_PER_DAY
from .views import offer_way_back, page

log = logging.getLogger("collector.porteur")
bp = Blueprint("lost_link", __name__)

FIELD = "contact_email"
MAX_LENGTH = 254  # what the page keeps of a refused value
PER_CLIENT = (20, 3600)  # valid requests per client address within any hour
PER_ADDRESS = (3, 86400)  # e-mails to one address within any day
# Requests waiting for the mailer, all senders together. The mailer takes them up within
# seconds while it runs; this many only wait when it is stopped. The call's largest likely
# size is about a thousand dossiers (the benchmarks' smaller size): every one of their
# porteurs asking once while no mailer runs, a deadline night's worst, fits; a flood from
# many addresses stops there (about 4 MB of files, a mailer round of a thousand look-ups).
MAX_WAITING = 1000
CLAIM_MIN_WINDOW = 3600  # a page token's claim lasts at least an hour, whatever its life (init_app)
# The same words for every address: whether it has a dossier, or is over a limit, stays unsaid; both
# limits are told, since past either one the mailer sends nothing (link_requests.py, mail_caps.py).
SENT = ("Si cette adresse est celle d'un dossier, nous y envoyons dans les minutes qui viennent un e-mail "
        "contenant le lien de chaque dossier : pensez à regarder dans les indésirables. Une même adresse "
        "reçoit au plus {per_day} de ces e-mails en 24 heures, et au plus {all_kinds} e-mails de ce site "
        "(envois de dossiers, corrections, demandes de lien) : au-delà, plus rien ne lui parvient avant le "
        "lendemain. Rien reçu dans l'heure ? Vérifiez l'adresse ci-dessus, ou appelez les contacts de "
        "l'AMI.").format(per_day=PER_ADDRESS[0], all_kinds=MAILS_PER_ADDRESS_PER_DAY)

# A post refused for its client when it came without the page's proof: the page itself does better.
TOO_MANY_WITHOUT_PAGE = ("Trop de demandes depuis votre connexion. Patientez environ {minutes}, puis "
                         "envoyez votre demande depuis la page « Lien de dossier perdu » du site, ouverte à "
                         "nouveau : seules les demandes faites depuis cette page sont comptées pour tout votre réseau "
                         "plutôt que pour votre seule connexion.")
TOO_MANY = ("Trop de demandes depuis votre connexion ou votre réseau. Patientez environ {minutes}, puis "
            "réessayez.")

NOT_NOW = ("Votre demande n'a pas pu être enregistrée pour le moment : aucun e-mail ne partira. Réessayez dans "
           "quelques minutes ; si cela dure, appelez les contacts de l'AMI, qui peuvent vous redonner le lien.")


def init_app(app: Flask) -> None:
    store, secret = appstate.store(app), appstate.secret(app)  # the store's limiters: shared by every host
    limit, window = PER_CLIENT
    by_client = ClientAndNetworkLimiter(store.rate_limiter("lien-client", limit, window, secret),
                                        store.rate_limiter("lien-reseau", network_limit(limit), window, secret))
    app.extensions["ami_lost_link"] = (by_client, store.rate_limiter("lien-adresse", *PER_ADDRESS, secret))
    app.extensions["ami_lost_link_tokens"] = Tokens(secret, app.config["TOKEN_MAX_AGE"])  # the form's own proof
    # A one-time claim per token id: a limit of one within a window at least as long as a token's
    # life (ratelimit.py's sliding window then refuses a second use for one to two windows, so
    # until the token has expired). The store's limiter, rather than a table of its own: every
    # worker and host shares it on both stores, it keeps keyed hashes only and forgets by itself.
    claim_window = max(int(app.config["TOKEN_MAX_AGE"]), CLAIM_MIN_WINDOW)
    app.extensions["ami_lost_link_claims"] = store.rate_limiter("lien-jeton", 1, claim_window, secret)
    app.register_blueprint(bp)


def _tokens() -> Tokens:
    return current_app.extensions["ami_lost_link_tokens"]


def _network() -> str:
    """What the page's token is bound to: the client's network (clientaddr.network_group)."""
    return network_group(request.remote_addr or "inconnu")


def _form(status: int = 200, **context) -> Response:
    """The page; a form on it always carries a fresh token, bound to the client's network, and an empty honeypot."""
    return page("porteur/lost_link.html", status, field=FIELD, hidden=_tokens().issue(bound_to=_network()),
                **context)


def first_use(submission_id: str) -> bool:
    """Claim a valid token's one-time id: True for the first request that brings it, False after
    (shared by every worker and host). A claim that cannot be counted (the store out of reach)
    counts as a first use, as the limiters themselves let a post through uncounted."""
    return current_app.extensions["ami_lost_link_claims"].hit("jeton:" + submission_id) is None


def _count(from_the_page: bool) -> None:
    """Count one valid request: for its client and its network when it came from the page, for
    its client alone otherwise (network_limit.py); 429 with Retry-After past a limit."""
    by_client = current_app.extensions["ami_lost_link"][0]
    client = request.remote_addr or "inconnu"
    wait = by_client.hit(client) if from_the_page else by_client.hit_client(client)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        raise Refusal(429, (TOO_MANY if from_the_page else TOO_MANY_WITHOUT_PAGE).format(minutes=minutes_fr(minutes)),
                      headers={"Retry-After": str(wait)})


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
        refuse_invisible(typed)  # named, and never shown back: the page shows the address without it
        address = Email(appstate.form().field(FIELD)).deserialize(typed)
    except AddressError as error:
        return _form(422, value=visible_part(typed)[:MAX_LENGTH], error=str(error))
    except ValidationError as error:
        message = error.messages[0] if isinstance(error.messages, list) else str(error.messages)
        return _form(422, value=typed[:MAX_LENGTH], error=message)
    if not address:
        return _form(422, value="", error="Indiquez l'adresse e-mail de contact donnée dans le formulaire.")
    if honeypot_filled(request.form.getlist(HONEYPOT_FIELD)):  # a robot: the same answer, nothing stored
        _count(from_the_page=False)
        log.info("lost link: honeypot filled, nothing stored")
        return _form(sent=SENT, address=address)
    check = _tokens().check(request.form.get(TOKEN_FIELD), request.form.get(SUBMISSION_ID_FIELD),
                            bound_to=_network())
    # Only valid addresses count; for the network only the first request that brings a page's token.
    _count(from_the_page=check.valid and check.submission_id is not None and first_use(check.submission_id))
    by_address = current_app.extensions["ami_lost_link"][1]
    requests = appstate.store().link_requests
    try:
        full = requests.waiting_at_least(MAX_WAITING)  # before the address's count: a refusal costs it nothing
    except OSError as error:
        full = True
        log.error("lost link: waiting requests not counted (%s)", type(error).__name__)
    if full:
        _refuse_full()
    key, now = address_key(address), time.time()
    hit = by_address.counted_hit(key, now)
    if hit.wait is None:
        try:
            stored = requests.write_unless_full(address, MAX_WAITING)  # the count again, atomic with the write
        except OSError as error:  # nothing stored: « Réessayez » must not use up the address's day
            _give_back(by_address, key, now, hit)
            log.error("lost link: request not stored (%s)", type(error).__name__)
            raise Refusal(503, NOT_NOW) from error
        if stored is None:  # filled by other requests since the first count
            _give_back(by_address, key, now, hit)
            _refuse_full()
    else:
        log.info("lost link: limit reached for one address")
    return _form(sent=SENT, address=address)


def _give_back(by_address: RateLimiter, key: str, now: float, hit: Hit) -> None:
    """Give the address back the count of a request that stored nothing, if it was counted:
    a post the limiter could not count gives back nothing (it would free an earlier post's)."""
    if hit.counted:
        by_address.give_back(key, now)


def _refuse_full() -> NoReturn:
    """503 « réessayez dans quelques minutes »: MAX_WAITING requests wait already, nothing is stored."""
    log.warning("lost link: %d requests waiting, request refused", MAX_WAITING)
    raise Refusal(503, NOT_NOW, headers={"Retry-After": "300"})
