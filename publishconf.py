"""Pelican settings for the production build (`make publish`): pelicanconf.py plus absolute URLs."""

from __future__ import annotations

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: E402,F401,F403
from pelicanconf import _FACTS  # noqa: E402

# The public address comes from content/data/ami.yaml (site.url); SITEURL overrides it for a staging copy.
SITEURL = os.environ.get("SITEURL") or _FACTS["site"]["url"].rstrip("/")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
DELETE_OUTPUT_DIRECTORY = True

# Pre-compression: a .gz beside every text file, served as is by nginx (gzip_static), so
# nothing is compressed per request. No brotli: Debian's nginx has no brotli_static module.
PLUGINS = [*PLUGINS, "pelican.plugins.precompress"]  # noqa: F405
PRECOMPRESS_GZIP = True
PRECOMPRESS_ZOPFLI = False
PRECOMPRESS_BROTLI = False
PRECOMPRESS_ZSTANDARD = False
PRECOMPRESS_OVERWRITE = True
PRECOMPRESS_MIN_SIZE = 256
PRECOMPRESS_TEXT_EXTENSIONS = {".html", ".css", ".js", ".xml", ".atom", ".ics", ".svg", ".txt"}
