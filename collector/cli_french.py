"""Click's own messages in French for the `flask --app collector …` commands.

Click marks what it prints (« Usage: », « Error: No such option », « Missing argument »,
« Show this message and exit. », a bad choice or number) with the standard library's
`gettext.gettext`, which reads the process's default text domain. The commands make that
domain our catalogue, `locale/fr/LC_MESSAGES/collector-cli.mo` (compiled from the `.po`
beside it), and ask for French through `LANGUAGE`, the variable gettext reads first and
only for messages (dates and numbers keep the system's locale). A message missing from the
catalogue stays as Click wrote it, so a newer Click can only add English, never break.

Installed when the `flask` command line builds the app (cli.py), never in the service or
the tests' processes: Flask's own group options (`flask --app collector --bogus`) are
parsed before the app is loaded and stay English.
"""

from __future__ import annotations

import gettext
import os

DOMAIN = "collector-cli"
LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")


def install() -> None:
    """From now on, Click's messages in this process are French."""
    gettext.bindtextdomain(DOMAIN, LOCALE_DIR)
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = "fr"
