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
import subprocess
import sys
from urllib.parse import urlsplit

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from collector import security_headers  # noqa: E402
from collector.facts import load_facts  # noqa: E402

TEMPLATE_PATH = os.path.join(REPO_ROOT, "deploy", "nginx", "ami-usages-numeriques.conf")
PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")
FALLBACK_MAX_BODY_BYTES = 256 * 1024
# `http2 on;` replaced `listen … ssl http2` (deprecated) in nginx 1.25.1; older nginx
# (Debian 12 has 1.22) knows only the listen parameter.
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)
MODERN_NGINX = "1.26.0"
NGINX = "/usr/sbin/nginx"
HEX = "[0-9a-f]{1,4}"


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


# With several hosts: after 2 failures (refused, timed out) within 10 s, a host is left out
# for 10 s, then tried again (nginx's passive health check; /healthz is for active ones).
UPSTREAM_FAILURES = "max_fails=2 fail_timeout=10s"


def upstream_servers(upstream: str) -> str:
    """The `server` lines of the upstream block for `host:port[,host:port…]`."""
    hosts = [host.strip() for host in upstream.split(",") if host.strip()]
    if not hosts:
        raise ValueError("UPSTREAM: give at least one host:port")
    if len(hosts) == 1:
        return f"    server {hosts[0]};"
    return "\n".join(f"    server {host} {UPSTREAM_FAILURES};" for host in hosts)


def installed_nginx_version(binary: str = NGINX) -> str:
    """This machine's nginx version (`nginx -v`), or a current one when nginx is not installed here."""
    try:
        done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return MODERN_NGINX
    match = re.search(r"nginx/(\d+\.\d+\.\d+)", done.stderr + done.stdout)
    return match.group(1) if match else MODERN_NGINX


def http2_fields(version: str) -> dict[str, str]:
    """`http2 on;` for nginx ≥ 1.25.1; the `listen … http2` parameter before (the only form it knows)."""
    try:
        parsed = tuple(int(part) for part in version.split("."))
    except ValueError:
        raise ValueError(f"NGINX_VERSION={version!r}: expected a version such as 1.26.0") from None
    if parsed >= HTTP2_DIRECTIVE_SINCE:
        return {"LISTEN_HTTP2": "", "HTTP2_ON": "    http2 on;"}
    return {"LISTEN_HTTP2": " http2", "HTTP2_ON": ""}


def client_key_map(source: str = "$remote_addr", variable: str = "$ami_client") -> str:
    """An nginx `map` from a client address (nginx's text form) to its group: the IPv4 address
    itself, or the IPv6 /64 as its first four groups written out (`2001:db8:0:1`).

    nginx writes IPv6 addresses as RFC 5952 does (lower case, the longest run of two or
    more zero groups as `::`), so a `::` that starts within the first four groups has to
    be expanded back; one pattern per place it can start and per number of groups after it.
    """
    h, g = HEX, f"({HEX})"
    upto = lambda n: f"(:{h}){{0,{n}}}"  # noqa: E731 - up to n more groups
    rules = [
        (f"^{g}:{g}:{g}:{g}:", "$1:$2:$3:$4"),                          # the first four written out
        (f"^{g}:{g}:{g}::({h}{upto(2)})?$", "$1:$2:$3:0"),                # :: from the 4th group
        (f"^{g}:{g}::({h}{upto(3)})?$", "$1:$2:0:0"),                     # :: from the 3rd
        (f"^{g}::{g}(:{h}){{4}}$", "$1:0:0:$2"),                          # :: from the 2nd, 5 groups after
        (f"^{g}::({h}{upto(3)})?$", "$1:0:0:0"),
        (f"^::{g}:{g}(:{h}){{4}}$", "0:0:$1:$2"),                         # :: from the 1st, 6 groups after
        (f"^::{g}(:{h}){{4}}$", "0:0:0:$1"),
        (f"^::({h}{upto(3)})?$", "0:0:0:0"),
    ]
    lines = [f"map {source} {variable} {{"]
    lines += [f'    "~{pattern}" "{value}";' for pattern, value in rules]
    lines += [f"    default {source};", "}"]
    return "\n".join(lines)


def default_values(environ: os._Environ | dict = os.environ) -> dict[str, str]:
    """Production values: the public URL from content/data/ami.yaml, Debian's usual paths."""
    public_url = load_facts()["site"]["url"].rstrip("/")
    host = urlsplit(public_url).hostname or "localhost"
    return {
        "SERVER_NAME": host,
        "PUBLIC_ORIGIN": public_url,
        "HTTP_LISTEN": "80",
        "HTTP_LISTEN_V6": "[::]:80",
        "HTTPS_LISTEN": "443",
        "HTTPS_LISTEN_V6": "[::]:443",
        "SSL_CERTIFICATE": f"/etc/letsencrypt/live/{host}/fullchain.pem",
        "SSL_CERTIFICATE_KEY": f"/etc/letsencrypt/live/{host}/privkey.pem",
        "ROOT": "/srv/ami-usages-numeriques/output",
        "ACCESS_LOG": "/var/log/nginx/ami-usages-numeriques.access.log",
        "ERROR_LOG": "/var/log/nginx/ami-usages-numeriques.error.log",
        "UPSTREAM": "127.0.0.1:8001",
        "CLIENT_MAX_BODY_SIZE": str(collector_max_body_bytes(environ)),
        "POST_RATE": "10r/m",
        "POST_BURST": "20",
        "NGINX_VERSION": installed_nginx_version(),
    }


def render(values: dict[str, str], template_path: str = TEMPLATE_PATH) -> str:
    """The template with every @NAME@ replaced; KeyError names any field left without a value.
    A line whose only marker is an empty listen address (`--https-listen-v6 ''`: no IPv6)
    or an empty directive is left out."""
    with open(template_path, encoding="utf-8") as handle:
        template = handle.read()
    filled = {**values, "SECURITY_HEADERS": header_lines(), "CLIENT_KEY_MAP": client_key_map(),
              "UPSTREAM_SERVERS": upstream_servers(values["UPSTREAM"]),
              **http2_fields(values.get("NGINX_VERSION") or MODERN_NGINX)}
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(filled))
    if missing:
        raise KeyError("no value for " + ", ".join(missing))
    kept = [line for line in template.splitlines(keepends=True)
            if not any(filled[name] == "" and name != "LISTEN_HTTP2" for name in PLACEHOLDER.findall(line))]
    return PLACEHOLDER.sub(lambda match: filled[match.group(1)], "".join(kept))


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
