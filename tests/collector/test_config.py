"""Configuration from the environment: safe defaults, French messages for unusable values."""

from __future__ import annotations

import os
import stat

import pytest

from collector import appstate, create_app
from collector.config import ConfigError, load_config
from tests.support.payloads import encode_form, valid_answers

from .conftest import fresh_hidden


def test_defaults_are_safe(data_dir):
    config = load_config({"COLLECTOR_DATA_DIR": data_dir})
    assert config["RATE_LIMIT"] == (20, 600) and config["MIN_FILL_SECONDS"] == 3
    assert config["ALLOWED_ORIGINS"] == {"http://127.0.0.1:8000"}
    assert config["MAX_CONTENT_LENGTH"] == 256 * 1024 and config["TRUSTED_PROXIES"] == 0
    assert config["HSTS"] is False and config["SITE_DIR"] is None


def test_the_generated_secret_key_is_shared_and_private(data_dir):
    first = load_config({"COLLECTOR_DATA_DIR": data_dir})["SECRET_KEY"]
    second = load_config({"COLLECTOR_DATA_DIR": data_dir})["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert stat.S_IMODE(os.stat(os.path.join(data_dir, "secret_key")).st_mode) == 0o600
    assert load_config({"COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_SECRET_KEY": "donnée"})["SECRET_KEY"] == "donnée"


def test_allowed_origins_add_to_the_public_url(data_dir):
    config = load_config({"COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_PUBLIC_URL": "https://ami.example.fr/",
                          "COLLECTOR_ALLOWED_ORIGINS": "https://www.example.fr, http://127.0.0.1:8000"})
    assert config["ALLOWED_ORIGINS"] == {"https://ami.example.fr", "https://www.example.fr", "http://127.0.0.1:8000"}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("COLLECTOR_RATE_LIMIT", "vingt", "attendu « nombre/secondes », par exemple 20/600."),
    ("COLLECTOR_RATE_LIMIT", "0/60", "deux nombres positifs attendus."),
    ("COLLECTOR_MIN_FILL_SECONDS", "trois", "nombre attendu."),
    ("COLLECTOR_MAX_BODY_BYTES", "-1", "nombre positif attendu."),
    ("COLLECTOR_HSTS", "peut-être", "valeur attendue 1/0, on/off ou true/false."),
    ("COLLECTOR_PUBLIC_URL", "ami.example.fr", "adresse complète attendue"),
])
def test_unusable_values_are_refused_in_french(data_dir, name, value, message):
    with pytest.raises(ConfigError) as caught:
        load_config({"COLLECTOR_DATA_DIR": data_dir, name: value})
    assert message in str(caught.value)


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(data_dir, monkeypatch, store_config):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    answers = None

    def posts(trusted: int) -> list[int]:
        nonlocal answers
        app = create_app({"DATA_DIR": data_dir, "MIN_FILL_SECONDS": 0, "RATE_LIMIT": (1, 600),
                          "TRUSTED_PROXIES": trusted, "SECRET_KEY": f"k{trusted}", **store_config})
        client = app.test_client()
        answers = valid_answers(app.config["FORM"])
        try:
            return [client.post("/candidater/", data=encode_form(answers, fresh_hidden(client)),
                                content_type="application/x-www-form-urlencoded",
                                headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in (1, 2)]
        finally:
            appstate.store(app).close()

    assert posts(trusted=1) == [303, 303]  # two clients behind nginx
    assert posts(trusted=0) == [303, 429]  # the header is ignored: one client (the proxy)
