"""Hostile bytes in what the collector logs: a request path with %0A or %1B cannot forge a
line nor reach a terminal, and no line carries a client address (real gunicorn, run with
deploy/gunicorn.conf.py; the collector's own handler in a fresh process), on each store `--store` names."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.proof.support import proof_env
from tests.support.net import free_port
from tests.support.server_store import (ServerStore, new_server_store, server_store,  # noqa: F401 - fixtures
                                        server_store_kind)
from tests.support.servers import REPO_ROOT, gunicorn

pytestmark = pytest.mark.proof

CONFIG = os.path.join(REPO_ROOT, "deploy", "gunicorn.conf.py")
FORGED = "FORGED 127.0.0.1 admin logged in"


def send_raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def wait_for_log(server, needle: str) -> str:
    for _ in range(100):
        text = server.log()
        if needle in text:
            return text
        time.sleep(0.1)
    return server.log()


@pytest.fixture(scope="module")
def deployed(server_store, tmp_path_factory):
    """gunicorn with the production configuration file (its logger, its access log format)."""
    port = free_port()
    with gunicorn({**proof_env(server_store.data_dir, port), **server_store.env}, workers=1, port=port, log_dir=str(tmp_path_factory.mktemp("logs")),
                  extra_args=("--config", CONFIG)) as server:
        yield server


def test_a_decoded_line_feed_or_escape_in_the_path_is_escaped_in_the_access_log(deployed):
    path = "/nulle-part%0A" + FORGED.replace(" ", "%20") + "%1B%5B31m%0D%E2%80%AE"
    reply = send_raw(deployed.port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 404")
    log = wait_for_log(deployed, "nulle-part")
    # WSGI decodes the path as Latin-1: the bytes of U+202E arrive as « â », C1 0x80, « ® ».
    assert not set("\x1b\r\x80") & set(log), "a control character reached the log raw"
    assert not [line for line in log.splitlines() if line.startswith("FORGED")], "a log line was forged"
    line = next(line for line in log.splitlines() if "nulle-part" in line)
    assert "nulle-part\\n" + FORGED + "\\x1b[31m\\r\u00e2\\x80" in line and '" 404 ' in line


def test_an_invalid_request_is_logged_without_the_client_address(deployed):
    reply = send_raw(deployed.port, b"GARBAGE\x1b[2J\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    log = wait_for_log(deployed, "Invalid request")
    line = next(line for line in log.splitlines() if "Invalid request" in line)
    assert "ip=" not in line and "127.0.0.1" not in line, line
    assert "\x1b" not in log


def test_the_collectors_own_log_lines_escape_control_characters(data_dir, store_env):
    script = ("import logging; from collector import create_app; create_app(); "
              "logging.getLogger('collector.intake').info('refused: %s', "
              f"'x\\n{FORGED}\\x1b[31m')")
    env = {**os.environ, **proof_env(data_dir, 8000), **ServerStore.of_test(data_dir, store_env).env}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    assert "\x1b" not in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("FORGED")]
    assert f"refused: x\\n{FORGED}\\x1b[31m" in result.stderr
