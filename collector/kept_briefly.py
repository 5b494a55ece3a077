"""What the collector keeps for a short while besides the dossiers, written once.

Read by the code that keeps it (porteur/same_browser.py, link_requests.py) and by the site's
privacy page (pelicanconf.py passes them as KEPT_BRIEFLY), so that the notice says what the code
does. Free of Flask: Pelican imports it.
"""

from __future__ import annotations

# The cookie that leads the same answers sent again from the same browser to their dossier:
# references and the first characters of their content hash, no answer, no address.
SAME_BROWSER_COOKIE = "ami_envois"
SAME_BROWSER_HOURS = 24

# A lost-link request (the address typed on « Lien perdu ») waits at most this long for the mailer.
LOST_LINK_REQUEST_DAYS = 7


def for_templates() -> dict[str, object]:
    """The figures the privacy page states."""
    return {"cookie": SAME_BROWSER_COOKIE, "cookie_hours": SAME_BROWSER_HOURS,
            "lost_link_days": LOST_LINK_REQUEST_DAYS}
