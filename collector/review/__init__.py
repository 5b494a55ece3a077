"""The review pages under /instruction/: login, list with filters, detail, status, notes, exports.

Every route of the blueprint needs a logged-in reviewer except the login page itself
(`PUBLIC_ENDPOINTS`); every POST needs the session's CSRF token (see csrf.py). The
session cookie is HttpOnly, SameSite=Lax and Secure unless COLLECTOR_COOKIE_SECURE=0.

A session ends after COLLECTOR_SESSION_HOURS (default 8: a working day) without a
request; each request signs the cookie again, so activity keeps it alive. It also ends,
in every worker and host at once, when its account's session generation changes (logout, new
password) or the account is removed: checked on every request. Accounts, sessions and the login
throttle are the store's (`appstate.store().reviewers`: the data folder or PostgreSQL, see
collector/stores/reviewers.py).
"""

from __future__ import annotations

import io
import math
import os
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from flask import (Blueprint, Flask, Response, abort, flash, redirect, render_template, request, session,
                   url_for)

from ..answers import plan_for
from ..dossier import labelled_events
from ..duplicates import SAME
from ..errors import add_frame
from ..meetings import MEETING_STATES, meetings_of
from ..phase import current_now, current_phase
from ..template_filters import tel_href
from ..statuses import (STATUSES, TRANSITIONS, StatusError, add_note, change_status, read_history,
                        status_label)
from .. import appstate
from ..stores import StoreUnavailable
from ..stores.reviewers import Reviewers
from . import csrf, index_upkeep, indexing, listing, throttle
from .catalog import departement_name, format_moment, format_received
from .indexing import app_index

bp = Blueprint("review", __name__, url_prefix="/instruction")

PUBLIC_ENDPOINTS = frozenset({"review.login"})
DEFAULT_SESSION_HOURS = 8.0
LOGIN_UNAVAILABLE = ("La connexion est momentanément impossible : réessayez dans quelques minutes. "
                     "Si cela dure, prévenez l'administrateur du serveur.")
# Where a login may send the reviewer back to: a path of the review pages, printable
# ASCII only (no CR/LF, decoded or not, no space, no backslash), no way up or out.
LOCAL_TARGET = re.compile(r"/instruction/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")


def _flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "").strip().lower()
    return default if not text else text in {"1", "true", "yes", "on", "oui"}


def session_lifetime(environ: Any = os.environ) -> timedelta:
    """COLLECTOR_SESSION_HOURS (default 8): how long a session lasts without a request."""
    from ..config import ConfigError

    text = environ.get("COLLECTOR_SESSION_HOURS", "").strip()
    try:
        hours = float(text) if text else DEFAULT_SESSION_HOURS
    except ValueError:
        raise ConfigError(f"COLLECTOR_SESSION_HOURS={text!r} : nombre d'heures attendu, par exemple 8.") from None
    if not 0 < hours <= 24 * 31:
        raise ConfigError(f"COLLECTOR_SESSION_HOURS={text!r} : entre quelques minutes (0.1) et 744 heures.")
    return timedelta(hours=hours)


def init_app(app: Flask) -> None:
    """Register the review pages and harden the session cookie."""
    app.config["SESSION_COOKIE_SECURE"] = _flag("COLLECTOR_COOKIE_SECURE", True)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Flask defines this key (31 days) before we run: assign it, never setdefault.
    app.config["PERMANENT_SESSION_LIFETIME"] = session_lifetime()
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    app.register_blueprint(bp)
    add_frame(app, bp.url_prefix or "/instruction", _error_page)
    indexing.init_app(app)
    index_upkeep.init_app(app)
    # They need this module's guard and detail page.
    from . import answer_pages, exchanges, link_revocation, meeting_pages

    exchanges.init_app(app)
    link_revocation.init_app(app)
    answer_pages.init_app(app)
    meeting_pages.init_app(app)


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    facts = appstate.facts()
    context.setdefault("SITEURL", "")
    context.setdefault("ami", facts)
    context.setdefault("phase", current_phase(facts))
    context.setdefault("current_url", "")
    context.setdefault("reviewer", session.get("reviewer"))
    return render_template(template, csrf_token=csrf.token(), status_label=status_label, **context), status


def unavailable_page(message: str) -> tuple[str, int]:
    """A French 503 inside the review frame (its reviewer bar and logout button): a page whose data
    the store does not keep yet (collector/stores/unshared.py)."""
    return _render("review/unavailable.html", 503, message=message)


def _error_page(status: int, title: str, message: str, hint: str | None) -> str:
    """A refusal or error of a review page (errors.py) in the review frame. The reviewer bar shows
    when the session is current, or when the store cannot tell (out of reach): then the signed
    session's name stands, so that the logout button stays at hand."""
    try:
        reviewer = _current_user()
    except StoreUnavailable:
        reviewer = session.get("reviewer")
    return _render("review/error.html", status, reviewer=reviewer, error_status=status, error_title=title,
                   message=message, hint=hint)[0]


def _current_user() -> str | None:
    """The reviewer of this session, if the account exists and the session is of its current generation."""
    name = session.get("reviewer")
    if not name:
        return None
    return name if appstate.store().reviewers.session_is_current(name, session.get("generation")) else None


@bp.before_request
def _guard() -> Any:
    csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if _current_user() is None:
        session.pop("reviewer", None)
        session.pop("generation", None)
        return redirect(url_for("review.login", suivant=request.full_path if request.method == "GET" else None))
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
    return response


def _safe_next(target: str | None) -> str:
    """`target` if it is a review page's path (LOCAL_TARGET, no `..`), else the list."""
    if target and LOCAL_TARGET.fullmatch(target) and "/../" not in target and not target.endswith("/.."):
        return target
    return url_for("review.index")


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    # `suivant` is checked before anything else: a bad one (CR/LF…) falls back to the list.
    target = _safe_next(request.values.get("suivant"))
    suivant = target if target == request.values.get("suivant") else ""
    if request.method == "GET":
        try:
            if _current_user():
                return redirect(target)
        except StoreUnavailable:
            pass  # check() below says so at once (one_wait.py)
        if appstate.store().check():  # accounts out of reach: say so before the reviewer types a password
            return _render("review/login.html", 503, error=LOGIN_UNAVAILABLE, suivant=suivant)
        return _render("review/login.html", suivant=suivant)
    name = request.form.get("identifiant", "").strip().lower()
    reviewers = appstate.store().reviewers
    try:
        refusal = _refusal(reviewers, name, request.form.get("mot_de_passe", ""), request.remote_addr or "inconnue")
    except (throttle.ThrottleUnavailable, StoreUnavailable):
        refusal = (503, LOGIN_UNAVAILABLE)
    if refusal:
        return _render("review/login.html", refusal[0], error=refusal[1], identifiant=name, suivant=suivant)
    generation = reviewers.session_generation(name)
    session.clear()
    if generation is None:  # the account vanished meanwhile
        return _render("review/login.html", 401, error="Identifiant ou mot de passe incorrect.",
                       identifiant=name, suivant=suivant)
    session.permanent = True
    session["reviewer"] = name
    session["generation"] = generation
    return redirect(target, code=303)


def _refusal(reviewers: Reviewers, name: str, password: str, address: str) -> tuple[int, str] | None:
    """(status, French message) if this login is refused, None if the password is right.
    Failures count towards the throttle; success forgets them."""
    secret = appstate.secret()
    wait = reviewers.locked_for(secret, name, address)
    if wait:
        minutes = math.ceil(wait / 60)
        return 429, (f"Trop d'essais infructueux : connexion bloquée pour ce compte depuis votre poste. "
                     f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.")
    if not name or not password or not reviewers.authenticate(name, password):
        reviewers.record_failure(secret, name, address)
        return 401, "Identifiant ou mot de passe incorrect."
    reviewers.record_success(secret, name, address)
    return None


@bp.route("/deconnexion", methods=["POST"])
def logout() -> Any:
    """End every session of this account (all browsers, all workers), then this one."""
    appstate.store().reviewers.end_sessions(session["reviewer"])
    session.clear()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("review.login"), code=303)


def _choices(field_name: str) -> list[tuple[str, str]]:
    try:
        return list(appstate.form().field(field_name).choices)
    except KeyError:
        return []


@bp.route("/")
def index() -> Any:
    from ..exports import FLAG_LABELS, flag_label

    records = app_index()
    chosen = listing.chosen_from(request.args)
    selection = listing.selection_of(chosen)
    page = listing.page_of(request.args.get("page"), records.count(selection))
    query = listing.query_of(chosen)
    return _render(
        "review/list.html",
        entries=records.select(selection, page.offset, listing.PAGE_SIZE), total=records.total(), page=page,
        chosen=chosen, query=urlencode(query), page_url=lambda number: url_for("review.index", **query, page=number),
        detail_url=lambda reference: url_for("review.detail", reference=reference, **query),
        counts={"statut": records.status_counts(selection)}, statuses=STATUSES, thematiques=_choices("thematiques"),
        types=_choices("type_structure"), departements=[(code, f"{code} — {name}") for code, name in records.departements()],
        flags=list(FLAG_LABELS.items()), sorts=[(key, label) for key, (label, _s, _d) in listing.SORTS.items()],
        warnings=records.warnings(), form=appstate.form(), format_received=format_received,
        flag_label=flag_label, thousands=listing.thousands, departement_name=departement_name,
    )


def _detail(reference: str, status: int = 200, **extra: Any) -> Any:
    records = app_index()
    entry = records.entry(reference)
    if entry is None:
        abort(404)
    entry.load_record()
    from ..exports import answer_text, flag_label

    try:
        history = read_history(appstate.store(), reference)
    except StatusError as error:
        history = {"events": [], "status": entry.status}
        extra.setdefault("history_error", str(error))
    chosen = listing.chosen_from(request.args)
    query = listing.query_of(chosen)
    previous, following, position, size = records.neighbours(listing.selection_of(chosen), reference)
    page = listing.page_holding(position)
    list_query = {**query, **({"page": page} if page > 1 else {})}
    from .contact_changes import contact_changes_or_error

    contact_changes, contact_changes_error = contact_changes_or_error(appstate.store(), reference, appstate.form())
    return _render(
        "review/detail.html", status, entry=entry, form=appstate.form(), answer_text=answer_text,
        flag_label=flag_label, history=history, format_received=format_received,
        next_statuses=sorted(TRANSITIONS.get(entry.status, ()), key=list(STATUSES).index),
        departement=departement_name(entry.record), format_at=_format_at,
        labelled_events=labelled_events(history["events"]),
        answer_plan=plan_for(reference, history), meetings=meetings_of(history), meeting_states=MEETING_STATES,
        previous=previous, following=following, position=position, size=size, query=query,
        list_url=url_for("review.index", **list_query), thousands=listing.thousands,
        detail_url=lambda other: url_for("review.detail", reference=other, **query), contact_href=_contact_href,
        contact_changes=contact_changes, contact_changes_error=contact_changes_error, same_as=SAME, **extra)


def _contact_href(field: Any, value: str) -> str | None:
    """A mailto: or tel: link for an e-mail or phone answer (None for others or an unusable number)."""
    if not value:
        return None
    if field.type == "email":
        return "mailto:" + quote(value, safe="@.+-_")
    if field.type == "tel":
        from phonenumbers import NumberParseException  # here: only the dossier page needs phonenumbers

        try:
            return tel_href(value)
        except NumberParseException:
            return None
    return None


CONFIRMATION = "#confirmation"  # the flashed message (layout.html): a success opens the page there, focused


def _detail_again(reference: str) -> str:
    """The dossier's page, within the same list (the form's action carried the list's query)."""
    return url_for("review.detail", reference=reference, **listing.query_of(listing.chosen_from(request.args)))


_format_at = format_moment


def _now() -> datetime:
    """The phase's clock (AMI_NOW in previews and tests): every event of a history is dated by it."""
    return current_now(appstate.facts())[0]


@bp.route("/<reference>")
def detail(reference: str) -> Any:
    return _detail(reference)


@bp.route("/<reference>/statut", methods=["POST"])
def set_status(reference: str) -> Any:
    try:
        change_status(appstate.store(), reference, request.form.get("statut", ""), by=session["reviewer"],
                      note=request.form.get("note", ""), motivation=request.form.get("motivation_porteur", ""),
                      expected_from=request.form.get("statut_actuel") or None, now=_now())
    except (StatusError, ValueError) as error:
        return _detail(reference, 400, status_error=str(error), note_value=request.form.get("note", ""),
                       status_value=request.form.get("statut", ""),  # the decision chosen comes back chosen
                       status_motivation_value=request.form.get("motivation_porteur", ""))
    flash(f"Statut enregistré : {status_label(request.form['statut'])}.")
    return redirect(_detail_again(reference) + CONFIRMATION, code=303)


@bp.route("/<reference>/note", methods=["POST"])
def post_note(reference: str) -> Any:
    try:
        add_note(appstate.store(), reference, request.form.get("texte", ""), by=session["reviewer"], now=_now())
    except (StatusError, ValueError) as error:
        return _detail(reference, 400, note_error=str(error), text_value=request.form.get("texte", ""))
    flash("Note ajoutée.")
    return redirect(_detail_again(reference) + CONFIRMATION, code=303)


@bp.route("/export.<fmt>")
def export(fmt: str) -> Any:
    from ..export_files import FORMATS, export_name

    if fmt not in FORMATS:
        abort(404)
    selection = listing.selection_of(listing.chosen_from(request.args))
    entries = app_index().select(selection)
    buffer = io.BytesIO()
    FORMATS[fmt].writer(appstate.form(), entries, buffer)
    name = export_name(fmt, _now().date(), appstate.form(), departement=selection.departement,
                       thematique=selection.thematique, type_structure=selection.type_structure,
                       status=selection.status, flag=selection.flag, search=selection.search)
    return Response(buffer.getvalue(), content_type=FORMATS[fmt].media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


from . import dashboard  # noqa: E402,F401 - its routes join the blueprint
