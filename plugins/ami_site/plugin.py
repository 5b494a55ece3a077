"""Signal wiring: fill the shared context before any template renders; write files at the end."""

from __future__ import annotations

import logging
from typing import Any

from pelican import signals

from collector.facts import FactsError
from collector.phase import NowError

from .context import build_context, warn_unconfirmed

logger = logging.getLogger(__name__)


def add_context(generator: Any) -> None:
    """All generators share one context dict: the first one fills it for the whole build."""
    context = generator.context
    if "ami" in context:
        return
    try:
        context.update(build_context(generator.settings))
    except (FactsError, NowError) as error:
        # SystemExit, not an exception: Pelican would print a traceback for the latter.
        logger.error("Erreur dans les données de l'AMI : %s", error)
        raise SystemExit(1) from None
    warn_unconfirmed(context["ami"])


def register() -> None:
    signals.generator_init.connect(add_context)
