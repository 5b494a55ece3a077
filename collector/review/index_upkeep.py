"""Each host's review index follows the store even when nobody reads it.

The review index (index.py) is brought in step with the store on each use. A host that
serves no reviewer (a quiet or standby one) would keep the rows of the dossiers purged
through another host (names, e-mails, search text) until its next use. So:
- `purge` brings its own host's index in step as soon as it has forgotten the dossiers
  (`sync_host_index`);
- the mailer, which runs on every host, syncs its host's index every
  COLLECTOR_INDEX_SYNC_SECONDS (60 by default, `IndexUpkeep`): a dossier purged through
  any host leaves every host's index within that delay (plus a poll of the mailer).
A sync that drops rows also wipes them from the file (index.py: secure_delete, then a
checkpoint that empties the write-ahead log).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping

from flask import Flask

from .. import appstate
from ..config import ConfigError
from .indexing import app_index

log = logging.getLogger("collector")

SYNC_SECONDS = 60.0
SYNC_ENV = "COLLECTOR_INDEX_SYNC_SECONDS"


def sync_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """The mailer's delay between two syncs of its host's index (COLLECTOR_INDEX_SYNC_SECONDS)."""
    text = environ.get(SYNC_ENV, "").strip()
    if not text:
        return SYNC_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 3600:
        raise ConfigError(f"{SYNC_ENV} : un nombre de secondes entre 1 et 3600 est attendu (reçu « {text} »). "
                          "Corrigez la variable ou retirez-la (60 secondes par défaut).")
    return seconds


def sync_host_index(app: Flask, follow: bool = False) -> None:
    """Bring this host's index in step with the app's store, if the host has one (no index
    file: nothing to clear, and none is built here). `follow`: the process syncs again later
    (the mailer), see RecordIndex."""
    index = app_index(app, follow=follow)
    if os.path.exists(index.path):
        index.sync()
        index.wipe_log()


def init_app(app: Flask) -> None:
    """Offer the mailer its upkeep (appstate.index_upkeep: the mail modules never import this package)."""
    app.extensions[appstate.INDEX_UPKEEP] = lambda: IndexUpkeep(app, sync_seconds())


class IndexUpkeep:
    """Sync the host's index when `period` seconds have passed since the last time (the first
    call syncs); a failure is logged and tried again a period later, never raised."""

    def __init__(self, app: Flask, period: float = SYNC_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.period = period
        self.clock = clock
        self._next = 0.0

    def __call__(self) -> None:
        now = self.clock()
        if now < self._next:
            return
        self._next = now + self.period
        try:
            sync_host_index(self.app, follow=True)
        except Exception as error:  # noqa: BLE001 - the store out of reach (StoreUnavailable), a full disk…
            log.warning("review index: not brought in step with the store (%s); next try in %.0f s",
                        type(error).__name__, self.period)
