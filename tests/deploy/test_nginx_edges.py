"""Through the production stack (nginx in front of gunicorn): the requests of
tests/collector/test_gunicorn_edges.py get French answers from nginx too, and a body cut before
its end is never stored. Written on a raw TLS socket, as a broken client or a robot sends them."""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
from urllib.parse import urlsplit, urlencode

import pytest

from collector.formdef import load_form
from tests.support.payloads import answer_pairs, form_hidden_fields, valid_answers

from .client import fetch

FORM = load_form()
FRENCH_PAGE = re.compile(r'<html[^>]* lang="fr"')


def tls_socket(stack) -> ssl.SSLSocket:
    parts = urlsplit(stack.nginx.https_url)
    context = ssl.create_default_context(cafile=stack.nginx.certificate)
    plain = socket.create_connection((parts.hostname, parts.port), timeout=60)
    return context.wrap_socket(plain, server_hostname=parts.hostname)


def send_raw(stack, request: bytes) -> tuple[int, str]:
    """Write `request` over TLS as it is and read (status, body) until nginx closes."""
    with tls_socket(stack) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (ssl.SSLError, ConnectionResetError):  # nginx closed without a TLS goodbye
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", errors="replace")


def head_of(stack, method: str, path: str, *headers: str) -> bytes:
    host = urlsplit(stack.nginx.https_url).netloc
    return ("\r\n".join([f"{method} {path} HTTP/1.1", f"Host: {host}", *headers]) + "\r\n\r\n").encode("latin-1")


def submissions(stack) -> list[str]:
    return sorted(record["reference"] for record in stack.store.records())


def test_a_header_with_a_nul_byte_gets_nginxs_french_400(stack):
    status, body = send_raw(stack, head_of(stack, "GET", "/candidater/", "X-Champ: a\x00b"))
    assert status == 400 and FRENCH_PAGE.search(body) and "Requête incorrecte" in body, body


def access_lines(stack, words: str) -> int:
    with open(os.path.join(stack.nginx.work_dir, "site-access.log"), encoding="utf-8") as handle:
        return sum(words in line for line in handle)


def test_a_form_cut_before_its_content_length_never_reaches_the_collector(stack):
    """The client closes in the middle of its body: nginx, which reads a body whole before passing it
    on, logs a 400 and never forwards it; nothing is stored."""
    page = fetch(stack.nginx.https_url + "/candidater/", cafile=stack.nginx.certificate)
    pairs = list(form_hidden_fields(page.text).items()) + answer_pairs(valid_answers(FORM))
    longest = max(pairs, key=lambda pair: len(pair[1]))
    pairs.remove(longest)
    body = urlencode([*pairs, longest]).encode("ascii")
    before, refused, forwarded = submissions(stack), access_lines(stack, '"POST /candidater/" 400'), \
        stack.gunicorn.log().count('"POST /candidater/"')
    with tls_socket(stack) as sock:
        sock.sendall(head_of(stack, "POST", "/candidater/", "Content-Type: application/x-www-form-urlencoded",
                             f"Origin: {stack.nginx.https_url}", f"Content-Length: {len(body)}") + body[:-5])
    deadline = time.monotonic() + 60
    while access_lines(stack, '"POST /candidater/" 400') == refused:  # nginx logs the request once it ended
        assert time.monotonic() < deadline, "nginx never logged the cut post"
        time.sleep(0.1)
    assert stack.gunicorn.log().count('"POST /candidater/"') == forwarded
    assert submissions(stack) == before


@pytest.mark.parametrize("path", ["/", "/candidater/"])
@pytest.mark.parametrize("value", ["bytes=abc", "lines=1-2", "bytes=99999999-"])
def test_a_range_nginx_or_the_collector_cannot_use_is_ignored(stack, path, value):
    reply = fetch(stack.nginx.https_url + path, headers={"Range": value}, cafile=stack.nginx.certificate)
    assert reply.status == 200 and FRENCH_PAGE.search(reply.text)
    assert reply.header("X-Content-Type-Options") == "nosniff"


def test_a_range_nginx_can_use_is_still_served_in_part(stack):
    reply = fetch(stack.nginx.https_url + "/", headers={"Range": "bytes=0-9"}, cafile=stack.nginx.certificate)
    assert reply.status == 206 and reply.body == b"<!DOCTYPE "



@pytest.mark.parametrize("value", ["bytes=abc", "bytes=99999999-"])
@pytest.mark.parametrize("path, content_type, cache", [
    ("/calendrier/ami-usages-numeriques-2021.ics", "text/calendar", "no-cache"),
    ("/theme/css/collector.css", "text/css", "max-age=86400"),
])
def test_a_range_ignored_keeps_the_files_type_and_caching(stack, value, path, content_type, cache):
    whole = fetch(stack.nginx.https_url + path, cafile=stack.nginx.certificate)
    reply = fetch(stack.nginx.https_url + path, headers={"Range": value}, cafile=stack.nginx.certificate)
    assert whole.status == reply.status == 200 and reply.body == whole.body
    assert reply.header("Content-Type").startswith(content_type) and whole.header("Content-Type").startswith(content_type)
    assert reply.header("Cache-Control") == whole.header("Cache-Control") == cache
