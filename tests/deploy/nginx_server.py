"""Debian's real nginx, run as a foreground process with the project's site configuration.

The site file is rendered by deploy/render_nginx.py exactly as in production (TLS, HSTS,
rate limits, headers); only ports, paths and the certificate differ: a self-signed
certificate for 127.0.0.1 made with openssl for the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from deploy.render_nginx import default_values, render
from tests.support.net import free_port
from tests.support.servers import stop_process_group

NGINX = "/usr/sbin/nginx"

MAIN_CONF = """\
{user}
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {work}/access.log;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {work}/site.conf;
}}
"""


@dataclass
class RunningNginx:
    https_url: str
    http_url: str
    certificate: str
    work_dir: str
    site_conf: str
    process: subprocess.Popen

    def error_log(self) -> str:
        with open(os.path.join(self.work_dir, "error.log"), encoding="utf-8", errors="replace") as handle:
            return handle.read()


def make_certificate(work_dir: str) -> tuple[str, str]:
    """A self-signed certificate valid for the IPs 127.0.0.1 and ::1; returns (certificate, key)."""
    cert, key = os.path.join(work_dir, "cert.pem"), os.path.join(work_dir, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,IP:::1"],
        check=True, capture_output=True)
    return cert, key


def site_values(root: str, upstream: str, https_port: int, http_port: int, cert: str, key: str,
                **overrides: str) -> dict[str, str]:
    """The production values with this run's ports, paths and certificate."""
    values = default_values()
    values.update({
        "SERVER_NAME": "127.0.0.1",
        "PUBLIC_ORIGIN": f"https://127.0.0.1:{https_port}",
        "HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "HTTP_LISTEN_V6": f"[::1]:{http_port}",
        "HTTPS_LISTEN": f"127.0.0.1:{https_port}",
        "HTTPS_LISTEN_V6": f"[::1]:{https_port}",
        "SSL_CERTIFICATE": cert,
        "SSL_CERTIFICATE_KEY": key,
        "ROOT": root,
        "ACCESS_LOG": os.path.join(os.path.dirname(cert), "site-access.log"),
        "ERROR_LOG": os.path.join(os.path.dirname(cert), "site-error.log"),
        "UPSTREAM": upstream,
    })
    values.update(overrides)
    return values


def _wait_for_port(port: int, process: subprocess.Popen, work_dir: str, timeout: float = 15) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    with open(os.path.join(work_dir, "error.log"), encoding="utf-8", errors="replace") as handle:
        raise RuntimeError("nginx did not start:\n" + handle.read())


@contextmanager
def nginx(root: str, upstream: str, work_dir: str, https_port: int | None = None,
          **overrides: str) -> Iterator[RunningNginx]:
    """Run nginx in the foreground with the rendered site until the block ends."""
    os.makedirs(work_dir, exist_ok=True)
    cert, key = make_certificate(work_dir)
    https_port, http_port = https_port or free_port(), free_port()
    site_conf = render(site_values(root, upstream, https_port, http_port, cert, key, **overrides))
    with open(os.path.join(work_dir, "site.conf"), "w", encoding="utf-8") as handle:
        handle.write(site_conf)
    # Workers must read the (private) test folders: run them as the current user.
    user = "user root;" if os.geteuid() == 0 else ""
    main_conf = os.path.join(work_dir, "nginx.conf")
    with open(main_conf, "w", encoding="utf-8") as handle:
        handle.write(MAIN_CONF.format(user=user, work=work_dir))
    check = subprocess.run([NGINX, "-t", "-q", "-p", work_dir, "-c", main_conf, "-e", os.path.join(work_dir, "error.log")],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError("nginx -t refused the configuration:\n" + check.stderr)
    process = subprocess.Popen([NGINX, "-p", work_dir, "-c", main_conf, "-e", os.path.join(work_dir, "error.log"),
                                "-g", "daemon off;"], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(https_port, process, work_dir)
        yield RunningNginx(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}",
                           cert, work_dir, site_conf, process)
    finally:
        stop_process_group(process, signal.SIGQUIT, timeout=10)
