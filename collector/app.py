"""The collector's app factory: the Flask application built from the environment and every role's pages and commands
(see the package's docstring, collector/__init__.py)."""

from __future__ import annotations

import gc
import logging
import os
from typing import Any

import click
from flask import Flask, Response, jsonify, request
from jinja2 import FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (appstate, cli, cli_french, errors, idempotency, intake, mail, payload, porteur, redirects, review,
               safe_logging, security_headers, stores)
from .request_edges import RequestEdges
from .config import load_config
from .deferred_routes import CollectorFlask
from .durable import sweep_tmp
from .facts import load_facts
from .formdef import REPO_ROOT, load_form
from .phase import current_phase
from .template_filters import FILTERS

TEMPLATES_DIR = os.path.join(REPO_ROOT, "theme", "templates")

log = logging.getLogger("collector")


def _configure_logging() -> None:
    safe_logging.configure(log)


def _built_for_a_command() -> bool:
    """Is the `flask` command line building the app to find one of its commands (`flask --app
    collector list`)? Not gunicorn, not the tests, not `flask run` (built inside its own command)."""
    context = click.get_current_context(silent=True)
    return context is not None and context.parent is None


def _sweep(data_dir: str) -> None:
    """The service's start-up chores: what interrupted writes left behind.

    Not for a command: reading every ids/ link took a tenth of a second at 10,000 records,
    on each reviewer's command; the service does it when it starts."""
    swept = sweep_tmp(data_dir, older_than_seconds=3600)
    if swept:
        log.info("start: removed %d unfinished write(s) from tmp/", swept)
    dangling = idempotency.sweep_dangling(data_dir, older_than_seconds=3600)
    if dangling:
        log.info("start: removed %d submission id link(s) to a record never written", dangling)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the collector from the environment (or `test_config`, which overrides it)."""
    _configure_logging()
    app = CollectorFlask("collector", static_folder=None, template_folder=None)
    app.config.update(load_config())
    if test_config:
        app.config.update(test_config)
    config = app.config
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    for_a_command = _built_for_a_command()
    # The service checks the facts when it starts (a bad ami.yaml stops it); a command loads them
    # when it first needs them (appstate.facts): `list` or `show` never do, and checking them costs
    # a tenth of a second of every command (marshmallow's URL pattern, Babel's French, phonenumbers).
    config["FACTS"] = None if for_a_command else load_facts(config["FACTS_PATH"])
    form = config["FORM"] = load_form(config["FORM_PATH"])
    for folder in ("submissions", "tmp"):
        os.makedirs(os.path.join(config["DATA_DIR"], folder), exist_ok=True)
    if not for_a_command:
        _sweep(config["DATA_DIR"])

    app.jinja_loader = FileSystemLoader(TEMPLATES_DIR)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def site_context() -> dict[str, Any]:
        facts = appstate.facts(app)
        return {"SITEURL": "", "ami": facts, "phase": current_phase(facts)}

    if config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config["TRUSTED_PROXIES"], x_proto=config["TRUSTED_PROXIES"],
                                x_host=config["TRUSTED_PROXIES"])  # type: ignore[method-assign]
    app.wsgi_app = RequestEdges(app.wsgi_app)  # type: ignore[method-assign] # a cut body, an unreadable Range
    security_headers.init_app(app)
    redirects.init_app(app)  # French bodies on redirects
    errors.init_app(app)

    @app.before_request
    def _bound_streamed_body() -> None:
        """A chunked body over MAX_CONTENT_LENGTH is a 413 on every route (a review note too)."""
        try:
            payload.bound_streamed_body(request)
        except payload.BadBody as error:
            raise errors.Refusal(error.status, error.message) from error
    app.extensions["ami_store"] = stores.open_store_or_exit(config, for_a_command)
    intake.init_app(app, form)

    @app.get("/healthz")
    def healthz() -> Response:
        """200 when the store can be written now (nginx takes a host out of its upstream otherwise)."""
        if problem := app.extensions["ami_store"].check():
            response = jsonify({"status": "erreur", "detail": problem})
            response.status_code = 503
            response.headers["Cache-Control"] = "no-store"
            return response
        response = jsonify({"status": "ok"})
        response.headers["Cache-Control"] = "no-store"
        return response

    cli.init_app(app, for_a_command)  # reviewers' commands (and Click's messages in French for them)
    stores.init_app(app)  # migrate-store, dump
    mail.init_app(app)  # acknowledgement and notification mails
    review.init_app(app)  # the review pages under /instruction/
    porteur.init_app(app)  # the porteur's dossier pages under /candidater/

    stores.guard_unshared(app)  # last: refuse what the store does not share yet, once all is registered
    if for_a_command:
        cli_french.describe_in_french(app)  # every role's commands registered: their French descriptions

    if config["SITE_DIR"]:
        from . import site

        site.init_app(app, config["SITE_DIR"])
    if for_a_command:
        # A command's process lives for one command: what the imports and this factory made is
        # never garbage, so the cyclic collector stops walking it (gc.freeze) — 80 million
        # instructions (5 %) of `list` at 10,000 records, its collections and its exit included.
        gc.freeze()
    else:
        app.url_map.update()  # the service compiles its URL rules now; a command when it first uses them
    return app
