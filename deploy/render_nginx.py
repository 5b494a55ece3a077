#!/usr/bin/env python3
"""Print the nginx site configuration, filled in for one server.

    .venv/bin/python deploy/render_nginx.py --root /srv/ami/output \\
        > /etc/nginx/sites-available/ami-usages-numeriques.conf

The template is deploy/nginx/ami-usages-numeriques.conf. Its security headers come
from collector/security_headers.py and its body size from the collector's own limit
(COLLECTOR_MAX_BODY_BYTES), so nginx and the collector never disagree.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from urllib.parse import urlsplit

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from collector import security_headers  # noqa: E402
from collector.facts import load_facts  # noqa: E402

TEMPLATE_PATH = os.path.join(REPO_ROOT, "deploy", "nginx", "ami-usages-numeriques.conf")
PLACEHOLDER = re.compile(r"@([A-Z][A-Z_]*)@")
FALLBACK_MAX_BODY_BYTES = 256 * 1024


def collector_max_body_bytes(environ: os._Environ | dict = os.environ) -> int:
    """The collector's body cap: COLLECTOR_MAX_BODY_BYTES, else the collector's default."""
    if environ.get("COLLECTOR_MAX_BODY_BYTES"):
        return int(environ["COLLECTOR_MAX_BODY_BYTES"])
    try:
        from collector import config
    except ImportError:
        return FALLBACK_MAX_BODY_BYTES
    return int(getattr(config, "DEFAULT_MAX_BODY_BYTES", FALLBACK_MAX_BODY_BYTES))


def header_lines() -> str:
    """`add_header` for each security header, and `proxy_hide_header` for the collector's copy."""
    headers = dict(security_headers.HEADERS)
    headers["Strict-Transport-Security"] = security_headers.HSTS
    lines = []
    for name, value in headers.items():
        if '"' in value:
            raise ValueError(f"{name}: a header value may not hold a double quote")
        lines.append(f'    proxy_hide_header {name};')
        lines.append(f'    add_header {name} "{value}" always;')
    return "\n".join(lines)


def default_values(environ: os._Environ | dict = os.environ) -> dict[str, str]:
    """Production values: the public URL from content/data/ami.yaml, Debian's usual paths."""
    public_url = load_facts()["site"]["url"].rstrip("/")
    host = urlsplit(public_url).hostname or "localhost"
    return {
        "SERVER_NAME": host,
        "PUBLIC_ORIGIN": public_url,
        "HTTP_LISTEN": "80",
        "HTTPS_LISTEN": "443",
        "SSL_CERTIFICATE": f"/etc/letsencrypt/live/{host}/fullchain.pem",
        "SSL_CERTIFICATE_KEY": f"/etc/letsencrypt/live/{host}/privkey.pem",
        "ROOT": "/srv/ami-usages-numeriques/output",
        "ACCESS_LOG": "/var/log/nginx/ami-usages-numeriques.access.log",
        "UPSTREAM": "127.0.0.1:8001",
        "CLIENT_MAX_BODY_SIZE": str(collector_max_body_bytes(environ)),
        "POST_RATE": "10r/m",
        "POST_BURST": "20",
    }


def render(values: dict[str, str], template_path: str = TEMPLATE_PATH) -> str:
    """The template with every @NAME@ replaced; KeyError names any field left without a value."""
    with open(template_path, encoding="utf-8") as handle:
        template = handle.read()
    filled = {**values, "SECURITY_HEADERS": header_lines()}
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(filled))
    if missing:
        raise KeyError("no value for " + ", ".join(missing))
    return PLACEHOLDER.sub(lambda match: filled[match.group(1)], template)


def main(argv: list[str] | None = None) -> int:
    defaults = default_values()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key, value in defaults.items():
        parser.add_argument("--" + key.lower().replace("_", "-"), default=value,
                            help=f"default: {value}")
    args = parser.parse_args(argv)
    values = {key: getattr(args, key.lower()) for key in defaults}
    sys.stdout.write(render(values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
