"""Pelican settings for development (`make html`, `make devserver`); publishconf.py builds on them."""

from __future__ import annotations

import os
import sys

from collector import kept_briefly
from collector.facts import DEFAULT_FACTS_PATH, FactsError, load_facts
from collector.letters import LetterError, load_letters
from collector.phase import NowError, current_phase
from collector.template_filters import FILTERS

# The call's facts, written once in content/data/ami.yaml (COLLECTOR_FACTS_PATH: a copy, for tests).
AMI_FACTS_PATH = os.environ.get("COLLECTOR_FACTS_PATH") or DEFAULT_FACTS_PATH
try:
    _FACTS = load_facts(AMI_FACTS_PATH)
    current_phase(_FACTS)  # an unreadable AMI_NOW stops the build here, in French
    load_letters(os.environ.get("COLLECTOR_LETTERS_DIR") or None)  # the July answer letters, checked once
except (FactsError, NowError, LetterError) as _error:
    sys.exit(f"Erreur dans les données de l'AMI : {_error}")

AUTHOR = _FACTS["call"]["organisation"]
KEPT_BRIEFLY = kept_briefly.for_templates()  # what the privacy page says the collector keeps for a while
SITENAME = _FACTS["site"]["name"]
SITEURL = ""
RELATIVE_URLS = False

PATH = "content"
THEME = "theme"
THEME_STATIC_DIR = "theme"
THEME_STATIC_PATHS = ["static"]
PAGE_PATHS = ["pages"]
ARTICLE_PATHS = ["news"]
STATIC_PATHS: list[str] = []
IGNORE_FILES = [".#*", "*~", "data"]

TIMEZONE = _FACTS["calendar"]["timezone"]
DEFAULT_LANG = "fr"
DEFAULT_DATE_FORMAT = "%d/%m/%Y"

# Pretty URLs: /slug/ served from slug/index.html; news under /actualites/.
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
ARTICLE_URL = "actualites/{slug}/"
ARTICLE_SAVE_AS = "actualites/{slug}/index.html"
INDEX_SAVE_AS = "actualites/index.html"
DIRECT_TEMPLATES = ["index"]
PAGINATED_TEMPLATES = {"index": None}
DEFAULT_PAGINATION = False
for _kind in ("CATEGORY", "TAG", "AUTHOR", "YEAR_ARCHIVE", "MONTH_ARCHIVE", "DAY_ARCHIVE",
              "DRAFT", "DRAFT_PAGE", "ARTICLE_LANG", "PAGE_LANG", "DRAFT_LANG", "DRAFT_PAGE_LANG"):
    globals()[f"{_kind}_SAVE_AS"] = ""
for _kind in ("CATEGORIES", "TAGS", "AUTHORS", "ARCHIVES"):
    globals()[f"{_kind}_SAVE_AS"] = ""
DRAFT_URL = DRAFT_PAGE_URL = ""

# A news article dated in the future stays unpublished until a build after its date
# (Pelican makes it a draft, and drafts are not written). Pelican reads a draft's category
# even when it writes nothing: news articles get theirs from their folder.
WITH_FUTURE_DATES = False
PATH_METADATA = r"(?P<category>news)/.*"

# One Atom feed, for the news; no other feed. Its ids come from site.url (plugins/ami_site/feed_ids.py).
FEED_DOMAIN = _FACTS["site"]["url"]  # feeds need absolute links, even in development
FEED_ALL_ATOM = "actualites/atom.xml"
FEED_ALL_RSS = None
CATEGORY_FEED_ATOM = None
CATEGORY_FEED_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TAG_FEED_ATOM = None
TAG_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
FEED_MAX_ITEMS = 20

PLUGIN_PATHS = ["plugins"]
PLUGINS = ["ami_site", "ami_form", "ami_minify"]
JINJA_FILTERS = dict(FILTERS)
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "extensions": []}

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {
            "footnotes": {"BACKLINK_TITLE": "Revenir à l'appel de note %d dans le texte"},
        },
        "markdown.extensions.smarty": {"smart_quotes": False},
    },
    "output_format": "html5",
}
TYPOGRIFY = False
SUMMARY_MAX_LENGTH = 40
PAGE_ORDER_BY = "order"
DELETE_OUTPUT_DIRECTORY = False
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
