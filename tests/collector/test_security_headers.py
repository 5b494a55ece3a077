"""Every response of the collector carries the security headers, once; HSTS only behind HTTPS."""

from __future__ import annotations

import pytest
from flask import Response

from collector import create_app
from collector.security_headers import HEADERS, HSTS


@pytest.mark.parametrize("method, path", [
    ("GET", "/candidater/"), ("GET", "/healthz"), ("GET", "/nulle-part"), ("POST", "/candidater/"),
    ("GET", "/instruction/"), ("GET", "/candidater/recu/AMI-2021-0001?cle=faux"),
])
def test_pages_json_errors_and_redirects_all_carry_the_headers_once(client, method, path):
    response = client.open(path, method=method)
    for name, value in HEADERS.items():
        assert response.headers.getlist(name) == [value], (path, name)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_when_the_collector_is_behind_https(data_dir):
    app = create_app({"DATA_DIR": data_dir, "HSTS": True, "SECRET_KEY": "clé de test"})
    assert app.test_client().get("/healthz").headers.getlist("Strict-Transport-Security") == [HSTS]


def test_a_route_that_sets_its_own_policy_keeps_it(app):
    @app.get("/politique-propre")
    def own_policy() -> Response:
        return Response("ok", headers={"content-security-policy": "default-src 'none'"})

    response = app.test_client().get("/politique-propre")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_permissions_policy_no_longer_names_the_obsolete_interest_cohort(client):
    policy = client.get("/healthz").headers["Permissions-Policy"]
    assert "interest-cohort" not in policy and "camera=()" in policy
