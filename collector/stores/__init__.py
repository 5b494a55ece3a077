"""Where the collector keeps its data: the data folder (default) or PostgreSQL.

`open_store(config)` gives the configured store: COLLECTOR_DATABASE_URL unset, the data
folder (folder.py); `postgresql://…`, PostgreSQL (postgres.py), once the server was
reached and its schema found current. Call sites ask `appstate.store()`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from . import one_wait
from .base import Store, StoreConfigError, StoreUnavailable

if TYPE_CHECKING:
    from flask import Flask, Response

__all__ = ["Store", "StoreConfigError", "StoreUnavailable", "init_app", "open_store", "open_store_or_exit"]


SERVICE_STOPS = "Le collecteur ne peut pas démarrer : "
COMMAND_STOPS = "Rien n'a été changé : "  # a command (status, message…) stopped before it did anything


def _stop(error: StoreConfigError, lead: str = SERVICE_STOPS) -> NoReturn:
    print(f"{lead}{error}", file=sys.stderr, flush=True)
    raise SystemExit(4) from None


def open_store_or_exit(config: Mapping[str, Any], for_a_command: bool = False) -> Store:
    """The configured store; when it cannot be used, a French message on stderr and exit status 4,
    never a traceback (gunicorn stops on 4, « application failed to load », instead of
    starting workers again and again). A command says that it changed nothing."""
    try:
        return open_store(config)
    except StoreConfigError as error:
        _stop(error, COMMAND_STOPS if for_a_command else SERVICE_STOPS)


def exit_unless_usable(environ: Mapping[str, str]) -> None:
    """Before any worker starts (gunicorn's on_starting hook): the configured database is
    reachable and at this code's schema, and every host is given the same secret key;
    otherwise one French message and exit status 4.

    Each worker checks again in create_app; checking first in the master says it once, and
    spares gunicorn from reaping several failing workers at once (which it reports with
    its own traceback)."""
    from ..config import ConfigError, database_url, shared_secret_problem

    try:
        url = database_url(environ)
    except ConfigError as error:
        _stop(StoreConfigError(str(error)))
    if url is None:
        return
    if problem := shared_secret_problem(environ):
        _stop(StoreConfigError(problem))
    from . import schema
    from .postgres import connect

    try:
        with connect(url) as connection:
            schema.require_current(connection)
    except StoreConfigError as error:
        _stop(error)


UNAVAILABLE = ("Le service est momentanément indisponible : réessayez dans quelques minutes. "
               "Rien de ce qui a déjà été enregistré n'est perdu.")


def init_app(app: Flask) -> None:
    """Register migrate-store and dump on the app's `flask` command; a store out of reach
    while a page reads it (a receipt during a database restart) is a French 503, never a 500,
    after one wait for it per request (one_wait.py)."""
    from flask import g  # here: the domain modules that name the stores' interface load no Flask

    from ..errors import error_response
    from .commands import init_app as register_commands

    register_commands(app)

    @app.teardown_request
    def _end_one_wait(_error: BaseException | None) -> None:
        token = g.pop("ami_store_one_wait", None)
        if token is not None:
            one_wait.end(token)

    def _begin_one_wait() -> None:
        g.ami_store_one_wait = one_wait.begin()

    # first of all before_request functions: whichever asks the store first waits for it alone
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_one_wait)

    @app.errorhandler(StoreUnavailable)
    def unavailable(_error: StoreUnavailable) -> Response:
        return error_response(503, UNAVAILABLE)


def guard_unshared(app: Flask) -> None:
    """Refuse the pages and commands whose data the app's store does not share yet (unshared.py)."""
    from .unshared import guard

    guard(app, app.extensions["ami_store"].shares_everything)


def open_store(config: Mapping[str, Any]) -> Store:
    """The store the configuration names; StoreConfigError (French) when it cannot be used."""
    url = config.get("DATABASE_URL")
    if not url:
        from .folder import FolderStore  # the domain modules that name the stores' interface load neither store

        return FolderStore(config["DATA_DIR"])
    from .postgres import PostgresStore  # psycopg is loaded only by a collector that uses it

    return PostgresStore.open_checked(url, pool_size=config.get("DATABASE_POOL_SIZE", 2),
                                      timeout=config.get("DATABASE_TIMEOUT", 5.0))
