"""A Pelican generator for /candidater/: `form` in the context, then the page itself.

The static page carries no anti-robot token (a build cannot sign one per visitor); the
collector serves the same page with a fresh token, and a post from the static copy gets
the form back with a token and every value kept.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from pelican import signals
from pelican.generators import Generator

from collector.email_typos import KNOWN_DOMAINS
from collector.formdef import FormDefinitionError, load_form

logger = logging.getLogger(__name__)

FORM_URL = "candidater/"
FORM_SAVE_AS = "candidater/index.html"


class FormPageGenerator(Generator):
    """Adds `form` to the shared context and writes the form page."""

    def generate_context(self) -> None:
        path = self.settings.get("AMI_FORM_PATH") or os.environ.get("COLLECTOR_FORM_PATH") or None
        try:
            self.context["form"] = load_form(path)
            self.context["email_domains"] = KNOWN_DOMAINS  # form.js suggests these for a typo
        except FormDefinitionError as error:
            logger.error("Erreur dans la définition du formulaire : %s", error)
            raise SystemExit(1) from None

    def generate_output(self, writer: Any) -> None:
        writer.write_file(FORM_SAVE_AS, self.get_template("form"), self.context, url=FORM_URL,
                          current_url=FORM_URL, values={}, errors={}, hidden={}, general_error=None)


def get_generators(pelican: Any) -> type[Generator]:
    return FormPageGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
