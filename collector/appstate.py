"""Where every role's code (porteur pages, review pages, commands, mail) finds the running app's
data folder, store, facts, form and secret key, and the services one role offers another (the review
index's e-mail look-up and its upkeep, for the mailer) without either importing the other."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from . import sqlite_files
from .facts import load_facts
from .formdef import FormDefinition, load_form
from .stores import Store


def _app(app: Flask | None) -> Flask:
    return app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]


def data_dir(app: Flask | None = None) -> str:
    config = _app(app).config
    return str(config.get("DATA_DIR") or config.get("COLLECTOR_DATA_DIR") or os.environ.get("COLLECTOR_DATA_DIR") or "var/data")


def facts(app: Flask | None = None) -> dict[str, Any]:
    config = _app(app).config
    value = config.get("FACTS")
    if value is None:
        path = config.get("FACTS_PATH") or os.environ.get("COLLECTOR_FACTS_PATH")
        value = load_facts(path) if path else load_facts()
        config["FACTS"] = value
    return value


def form(app: Flask | None = None) -> FormDefinition:
    config = _app(app).config
    value = config.get("FORM")
    if not isinstance(value, FormDefinition):
        value = load_form(config.get("FORM_PATH") or None)
        config["FORM"] = value
    return value


def store(app: Flask | None = None) -> Store:
    """The running app's store (the data folder or PostgreSQL, see collector/stores)."""
    return _app(app).extensions["ami_store"]


def close(app: Flask) -> None:
    """Release what `app` holds open: its store's connections and this thread's SQLite connections to
    its data folder (rate limits, login throttle, review index). A gunicorn worker never needs it (its
    files close when it ends); a process that makes app after app (the tests, a script) calls it for
    each (a SQLite file used again afterwards is opened again; the store is not)."""
    store(app).close()
    sqlite_files.close_under(data_dir(app))


def secret(app: Flask | None = None) -> str:
    return str(_app(app).config.get("SECRET_KEY") or "")


EMAIL_LOOKUP = "ami_email_lookup"


def email_lookup(app: Flask | None = None) -> Callable[[str], list[str] | None] | None:
    """The references a contact address has, found by the review index, when the review role
    registered one (app.extensions[EMAIL_LOOKUP]); None otherwise (the mailer then reads the records)."""
    return _app(app).extensions.get(EMAIL_LOOKUP)


INDEX_UPKEEP = "ami_index_upkeep"


def index_upkeep(app: Flask | None = None) -> Callable[[], Callable[[], None]] | None:
    """What makes the mailer's periodic sync of its host's review index, when the review role
    registered it (app.extensions[INDEX_UPKEEP], review/index_upkeep.py); None otherwise. Making
    it reads COLLECTOR_INDEX_SYNC_SECONDS (config.ConfigError, in French, when it is wrong)."""
    return _app(app).extensions.get(INDEX_UPKEEP)
