"""Build the context: the call's facts and its phase, read once per build."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from collector.facts import DEFAULT_FACTS_PATH, load_facts, unconfirmed_facts
from collector.phase import current_phase

logger = logging.getLogger(__name__)


def build_context(settings: Mapping[str, Any]) -> dict[str, Any]:
    """`ami` (facts) and `phase` for the templates; FactsError/NowError stop the build."""
    facts = load_facts(settings.get("AMI_FACTS_PATH") or DEFAULT_FACTS_PATH)
    return {"ami": facts, "phase": current_phase(facts)}


def warn_unconfirmed(facts: Mapping[str, Any]) -> list[str]:
    """Log one warning per fact the Région has not confirmed yet; return their names."""
    pending = unconfirmed_facts(facts)
    for name in pending:
        logger.warning("Fait à confirmer par la Région : %s (content/data/ami.yaml, liste to_confirm)", name)
    return pending
