"""Common typos in an e-mail address's domain (gmial.com, hotmial.fr, orange.fe…).

A suggestion only, never a refusal: the address may be right. `suggest("x@gmial.com")`
gives "x@gmail.com"; an address whose domain is known, or far from every known
domain, gives None. Flask-free: the form template (Pelican and the collector) and the
dossier page use it, and form.js gets the same list of domains from the page.
"""

from __future__ import annotations

import difflib

# Domains porteurs in Normandy most often use: French consumer providers first.
KNOWN_DOMAINS = (
    "gmail.com", "hotmail.fr", "hotmail.com", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net",
    "yahoo.fr", "yahoo.com", "outlook.fr", "outlook.com", "live.fr", "sfr.fr", "neuf.fr", "bbox.fr",
    "icloud.com", "aliceadsl.fr", "numericable.fr", "protonmail.com", "normandie.fr",
)
# How close a domain must be to a known one (difflib's ratio) to be worth a question.
CUTOFF = 0.8


def suggest_domain(domain: str) -> str | None:
    """The known domain this one is most likely a typo of, or None."""
    domain = domain.strip().lower()
    if not domain or domain in KNOWN_DOMAINS:
        return None
    matches = difflib.get_close_matches(domain, KNOWN_DOMAINS, n=1, cutoff=CUTOFF)
    return matches[0] if matches else None


def suggest(address: str | None) -> str | None:
    """The address with its domain corrected, when the domain looks like a typo; else None."""
    local, at, domain = (address or "").strip().rpartition("@")
    if not at or not local:
        return None
    better = suggest_domain(domain)
    return f"{local}@{better}" if better else None
