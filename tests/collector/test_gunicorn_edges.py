"""Straight to gunicorn, as `make run` or a host without nginx: the requests nginx would filter
get French 4xx pages, whoever answers them (gunicorn's worker, werkzeug, the collector), and a
body cut before its end is never stored. gunicorn runs with deploy/gunicorn.conf.py; the
requests are written on a raw socket, as a broken client or a robot sends them."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from collector.formdef import load_form
from tests.support.net import free_port
from tests.support.payloads import answer_pairs, fetch_hidden, valid_answers
from tests.support.servers import REPO_ROOT, gunicorn

from .test_gunicorn import collector_env

FORM = load_form()
FRENCH_PAGE = re.compile(r'<html[^>]* lang="fr"')


@dataclass
class Reply:
    status: int
    head: str
    body: str


@pytest.fixture(scope="module")
def server(site, tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("data"))
    logs = str(tmp_path_factory.mktemp("logs"))
    port = free_port()
    env = collector_env(data_dir, port, COLLECTOR_SITE_DIR=site.output)
    config = ("--config", os.path.join(REPO_ROOT, "deploy", "gunicorn.conf.py"))
    with gunicorn(env, workers=1, port=port, log_dir=logs, extra_args=config) as running:
        running.data_dir = data_dir
        yield running


def send_raw(server, request: bytes) -> Reply:
    """Write `request` as it is, close the sending side (the client has nothing more) and read the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return Reply(int(head.split(b" ", 2)[1]), head.decode("latin-1"), body.decode("utf-8"))


def request_head(server, method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def stored_references(server) -> list[str]:
    folder = os.path.join(server.data_dir, "submissions")
    return sorted(name for name in os.listdir(folder) if name.endswith(".yaml")) if os.path.isdir(folder) else []


def assert_french_page(reply: Reply, status: int, words: str) -> None:
    assert reply.status == status, reply.head
    assert FRENCH_PAGE.search(reply.body) and words in reply.body, reply.body
    for english in ("Bad Request", "Internal Server Error", "Invalid", "Not Satisfiable"):
        assert english not in reply.body


# --- A body that ends before its end is never taken for the whole --------------------------------


def valid_post_body(server) -> bytes:
    """A valid form, its longest answer last: a body cut anywhere in it still parses."""
    pairs = list(fetch_hidden(server.base_url).items()) + answer_pairs(valid_answers(FORM))
    longest = max(pairs, key=lambda pair: len(pair[1]))
    pairs.remove(longest)
    return urlencode([*pairs, longest]).encode("ascii")


def test_a_form_shorter_than_its_content_length_gets_a_french_400_and_is_not_stored(server):
    body = valid_post_body(server)
    before = stored_references(server)
    reply = send_raw(server, request_head(server, "POST", "/candidater/",
                                          "Content-Type: application/x-www-form-urlencoded",
                                          f"Origin: {server.base_url}", f"Content-Length: {len(body)}") + body[:-5])
    assert_french_page(reply, 400, "pas pu être lue")
    assert stored_references(server) == before


def test_the_same_form_whole_is_stored(server):
    """The other side of the test above: the body it cuts is one the collector stores."""
    body = valid_post_body(server)
    before = stored_references(server)
    reply = send_raw(server, request_head(server, "POST", "/candidater/",
                                          "Content-Type: application/x-www-form-urlencoded",
                                          f"Origin: {server.base_url}", f"Content-Length: {len(body)}") + body)
    assert reply.status == 303, reply.head
    assert len(stored_references(server)) == len(before) + 1


@pytest.mark.parametrize("chunks", [b"40\r\nraison_sociale=abc", b"zz\r\nabc\r\n0\r\n\r\n"],
                         ids=["cut-short", "bad-chunk-size"])
def test_a_chunked_body_cut_short_or_malformed_gets_a_french_400(server, chunks):
    reply = send_raw(server, request_head(server, "POST", "/candidater/",
                                          "Content-Type: application/x-www-form-urlencoded",
                                          "Transfer-Encoding: chunked") + chunks)
    assert_french_page(reply, 400, "pas pu être lue")


# --- gunicorn's own refusals, in French ----------------------------------------------------------


@pytest.mark.parametrize(("request_bytes", "status", "words"), [
    (b"GET /candidater/ HTTP/1.1\r\nHost: x\r\nX-Champ: a\x00b\r\n\r\n", 400, "Requête incorrecte"),
    (b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "Adresse trop longue"),
    (b"POST /candidater/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", 501,
     "Envoi non pris en charge"),
], ids=["nul-byte-in-a-header", "request-line-too-long", "unknown-transfer-coding"])
def test_what_gunicorn_refuses_itself_gets_a_french_page(server, request_bytes, status, words):
    reply = send_raw(server, request_bytes)
    assert_french_page(reply, status, words)
    assert "Content-Type: text/html; charset=utf-8" in reply.head
    assert "X-Content-Type-Options: nosniff" in reply.head and "Content-Security-Policy:" in reply.head


def test_an_application_that_fails_before_answering_gets_gunicorns_500_in_french(tmp_path):
    """gunicorn's own 500 (an exception the application let through): French as well."""
    config = ("--config", os.path.join(REPO_ROOT, "deploy", "gunicorn.conf.py"))
    with gunicorn({}, workers=1, app="tests.support.raising_wsgi:app", log_dir=str(tmp_path),
                  extra_args=config) as failing:
        reply = send_raw(failing, request_head(failing, "GET", "/"))
        assert_french_page(reply, 500, "Erreur du serveur")
        assert "Error handling request" in failing.log()  # gunicorn logged it as before


# --- Range: one that cannot be read or served (several ranges) is ignored ----------------------------------------------------


@pytest.mark.parametrize("value", ["bytes=abc", "bytes=", "lines=1-2", "bytes=5-2", "bytes=0-1,5-6"])
def test_an_unreadable_range_is_ignored_and_the_whole_page_sent(server, value):
    whole = send_raw(server, request_head(server, "GET", "/"))
    reply = send_raw(server, request_head(server, "GET", "/", f"Range: {value}"))
    assert whole.status == 200 and reply.status == 200, reply.head
    assert reply.body == whole.body


def test_a_readable_range_is_still_served_in_part(server):
    reply = send_raw(server, request_head(server, "GET", "/", "Range: bytes=0-9"))
    assert reply.status == 206 and reply.body == "<!DOCTYPE "


def test_a_range_past_the_end_gets_a_french_416(server):
    reply = send_raw(server, request_head(server, "GET", "/", "Range: bytes=99999999-"))
    assert_french_page(reply, 416, "Rechargez la page")
