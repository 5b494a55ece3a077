"""The review pages under /instruction/: login, list with filters, detail, status, notes, exports.

Every route of the blueprint needs a logged-in reviewer except the login page itself
(`PUBLIC_ENDPOINTS`); every POST needs the session's CSRF token (see csrf.py). The
session cookie is HttpOnly, SameSite=Lax and Secure unless COLLECTOR_COOKIE_SECURE=0.
"""

from __future__ import annotations

import io
import math
import os
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from phonenumbers import NumberParseException

from flask import (Blueprint, Flask, Response, abort, flash, redirect, render_template, request, session,
                   url_for)

from ..phase import current_phase
from ..template_filters import tel_href
from ..statuses import (STATUSES, TRANSITIONS, StatusError, add_note, change_status, read_history,
                        status_label)
from . import appstate, csrf, indexing, listing, throttle
from .catalog import departement_name, format_received
from .indexing import app_index
from .users import authenticate, read_users, UserError

bp = Blueprint("review", __name__, url_prefix="/instruction")

PUBLIC_ENDPOINTS = frozenset({"review.login"})


def _flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "").strip().lower()
    return default if not text else text in {"1", "true", "yes", "on", "oui"}


def init_app(app: Flask) -> None:
    """Register the review pages and harden the session cookie."""
    app.config["SESSION_COOKIE_SECURE"] = _flag("COLLECTOR_COOKIE_SECURE", True)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=8))
    app.register_blueprint(bp)
    indexing.init_app(app)


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    facts = appstate.facts()
    context.setdefault("SITEURL", "")
    context.setdefault("ami", facts)
    context.setdefault("phase", current_phase(facts))
    context.setdefault("current_url", "")
    return render_template(template, csrf_token=csrf.token(), reviewer=session.get("reviewer"),
                           status_label=status_label, **context), status


def _current_user() -> str | None:
    name = session.get("reviewer")
    if not name:
        return None
    try:
        return name if name in read_users(appstate.data_dir()) else None
    except UserError:
        return None


@bp.before_request
def _guard() -> Any:
    csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if _current_user() is None:
        session.pop("reviewer", None)
        return redirect(url_for("review.login", suivant=request.full_path if request.method == "GET" else None))
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
    return response


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/instruction/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("review.index")


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if _current_user():
            return redirect(_safe_next(request.args.get("suivant")))
        return _render("review/login.html", suivant=request.args.get("suivant", ""))
    name = request.form.get("identifiant", "").strip().lower()
    password = request.form.get("mot_de_passe", "")
    address = request.remote_addr or "inconnue"
    data_dir, secret = appstate.data_dir(), appstate.secret()
    wait = throttle.locked_for(data_dir, secret, name, address)
    if wait:
        minutes = math.ceil(wait / 60)
        message = (f"Trop d'essais infructueux : connexion bloquée pour ce compte depuis votre poste. "
                   f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.")
        return _render("review/login.html", 429, error=message, identifiant=name, suivant=request.form.get("suivant", ""))
    if not name or not password or not authenticate(data_dir, name, password):
        throttle.record_failure(data_dir, secret, name, address)
        return _render("review/login.html", 401, error="Identifiant ou mot de passe incorrect.",
                       identifiant=name, suivant=request.form.get("suivant", ""))
    throttle.record_success(data_dir, secret, name, address)
    session.clear()
    session.permanent = True
    session["reviewer"] = name
    return redirect(_safe_next(request.form.get("suivant")), code=303)


@bp.route("/deconnexion", methods=["POST"])
def logout() -> Any:
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
        history = read_history(appstate.data_dir(), reference)
    except StatusError as error:
        history = {"events": [], "status": entry.status}
        extra.setdefault("history_error", str(error))
    chosen = listing.chosen_from(request.args)
    query = listing.query_of(chosen)
    previous, following, position, size = records.neighbours(listing.selection_of(chosen), reference)
    page = listing.page_holding(position)
    list_query = {**query, **({"page": page} if page > 1 else {})}
    return _render(
        "review/detail.html", status, entry=entry, form=appstate.form(), answer_text=answer_text,
        flag_label=flag_label, history=history, format_received=format_received,
        next_statuses=sorted(TRANSITIONS.get(entry.status, ()), key=list(STATUSES).index),
        departement=departement_name(entry.record), format_at=_format_at,
        previous=previous, following=following, position=position, size=size, query=query,
        list_url=url_for("review.index", **list_query), thousands=listing.thousands,
        detail_url=lambda other: url_for("review.detail", reference=other, **query), contact_href=_contact_href,
        **extra)


def _contact_href(field: Any, value: str) -> str | None:
    """A mailto: or tel: link for an e-mail or phone answer (None for others or an unusable number)."""
    if not value:
        return None
    if field.type == "email":
        return "mailto:" + quote(value, safe="@.+-_")
    if field.type == "tel":
        try:
            return tel_href(value)
        except NumberParseException:
            return None
    return None


def _detail_again(reference: str) -> str:
    """The dossier's page, within the same list (the form's action carried the list's query)."""
    return url_for("review.detail", reference=reference, **listing.query_of(listing.chosen_from(request.args)))


def _format_at(text: str) -> str:
    """`2021-04-16T09:12:00+02:00` → `16/04/2021 09:12`."""
    return f"{text[8:10]}/{text[5:7]}/{text[:4]} {text[11:16]}" if len(text) >= 16 else text


@bp.route("/<reference>")
def detail(reference: str) -> Any:
    return _detail(reference)


@bp.route("/<reference>/statut", methods=["POST"])
def set_status(reference: str) -> Any:
    try:
        change_status(appstate.data_dir(), reference, request.form.get("statut", ""), by=session["reviewer"],
                      note=request.form.get("note", ""), expected_from=request.form.get("statut_actuel") or None)
    except (StatusError, ValueError) as error:
        return _detail(reference, 400, status_error=str(error), note_value=request.form.get("note", ""))
    flash(f"Statut enregistré : {status_label(request.form['statut'])}.")
    return redirect(_detail_again(reference), code=303)


@bp.route("/<reference>/note", methods=["POST"])
def post_note(reference: str) -> Any:
    try:
        add_note(appstate.data_dir(), reference, request.form.get("texte", ""), by=session["reviewer"])
    except (StatusError, ValueError) as error:
        return _detail(reference, 400, note_error=str(error), text_value=request.form.get("texte", ""))
    flash("Note ajoutée.")
    return redirect(_detail_again(reference), code=303)


@bp.route("/export.<fmt>")
def export(fmt: str) -> Any:
    from ..export_files import FORMATS, export_name
    from ..phase import current_now

    if fmt not in FORMATS:
        abort(404)
    selection = listing.selection_of(listing.chosen_from(request.args))
    entries = app_index().select(selection)
    buffer = io.BytesIO()
    FORMATS[fmt].writer(appstate.form(), entries, buffer)
    name = export_name(fmt, current_now(appstate.facts())[0].date(), appstate.form(), departement=selection.departement,
                       thematique=selection.thematique, type_structure=selection.type_structure,
                       status=selection.status, flag=selection.flag, search=selection.search)
    return Response(buffer.getvalue(), content_type=FORMATS[fmt].media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


from . import dashboard  # noqa: E402,F401 - its routes join the blueprint
