"""The deployment files agree with the code: the env example, the systemd unit, the nginx template."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from collector.config import load_config
from deploy.render_nginx import PLACEHOLDER, TEMPLATE_PATH, default_values, render
from tests.support.servers import REPO_ROOT

DEPLOY = os.path.join(REPO_ROOT, "deploy")
ENV_EXAMPLE = os.path.join(DEPLOY, "collector.env.example")
UNIT = os.path.join(DEPLOY, "ami-collector.service")
MAILER_UNIT = os.path.join(DEPLOY, "ami-mailer.service")


def example_settings() -> dict[str, str]:
    settings = {}
    with open(ENV_EXAMPLE, encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                name, _, value = line.rstrip("\n").partition("=")
                settings[name] = value
    return settings


def code_variables() -> set[str]:
    found = set()
    for folder, _, names in os.walk(os.path.join(REPO_ROOT, "collector")):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    found |= set(re.findall(r"COLLECTOR_[A-Z_]+", handle.read()))
    with open(os.path.join(DEPLOY, "gunicorn.conf.py"), encoding="utf-8") as handle:
        found |= set(re.findall(r"GUNICORN_[A-Z_]+", handle.read()))
    return found


def test_every_variable_of_the_env_example_is_one_the_code_reads():
    unknown = set(example_settings()) - code_variables()
    assert not unknown, f"collector.env.example sets variables nothing reads: {sorted(unknown)}"


def test_the_env_example_holds_no_secret_and_never_previews_a_date():
    settings = example_settings()
    assert settings["COLLECTOR_SECRET_KEY"] == "" and settings["COLLECTOR_SMTP_PASSWORD"] == ""
    assert "AMI_NOW" not in settings and "COLLECTOR_SITE_DIR" not in settings


def test_the_env_example_is_a_configuration_the_collector_accepts(tmp_path):
    config = load_config({**example_settings(), "COLLECTOR_DATA_DIR": str(tmp_path)})
    assert config["TRUSTED_PROXIES"] == 1
    assert config["MAX_CONTENT_LENGTH"] == int(example_settings()["COLLECTOR_MAX_BODY_BYTES"])


def test_the_rendered_nginx_site_is_complete_and_uses_the_collectors_body_cap(monkeypatch):
    monkeypatch.setenv("COLLECTOR_MAX_BODY_BYTES", "12345")
    site = render(default_values())
    assert not PLACEHOLDER.search(site)
    assert "client_max_body_size 12345;" in site
    assert "add_header Strict-Transport-Security" in site


def test_rendering_refuses_a_template_field_without_a_value(tmp_path):
    template = tmp_path / "site.conf"
    with open(TEMPLATE_PATH, encoding="utf-8") as handle:
        template.write_text(handle.read() + "\n# @NEW_FIELD@\n", encoding="utf-8")
    with pytest.raises(KeyError, match="NEW_FIELD"):
        render(default_values(), str(template))


def test_the_render_command_prints_the_site(tmp_path):
    done = subprocess.run([sys.executable, os.path.join(DEPLOY, "render_nginx.py"),
                           "--root", "/srv/ailleurs/output", "--upstream", "127.0.0.1:9001"],
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "root /srv/ailleurs/output;" in done.stdout
    assert "server 127.0.0.1:9001;" in done.stdout


def test_the_systemd_unit_is_valid_and_hardened(tmp_path):
    with open(UNIT, encoding="utf-8") as handle:
        unit = handle.read()
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                    "ReadWritePaths=/var/lib/ami-usages-numeriques", "EnvironmentFile=/etc/ami/collector.env",
                    "--config deploy/gunicorn.conf.py"):
        assert setting in unit
    assert example_settings()["COLLECTOR_DATA_DIR"] == "/var/lib/ami-usages-numeriques"
    verify_unit(unit, "ami-collector.service", tmp_path)


def verify_unit(unit: str, name: str, tmp_path) -> None:
    """`systemd-analyze verify` finds nothing to say about the unit (paths moved to this checkout)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the unit's syntax is not checked here")
    local = tmp_path / name
    local.write_text(unit.replace("/srv/ami-usages-numeriques", REPO_ROOT), encoding="utf-8")
    checked = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr


def unit_settings(text: str) -> set[str]:
    return {line for line in text.splitlines() if line and not line.startswith(("#", "["))}


def test_the_mailer_unit_runs_the_mailer_as_the_collector_runs_gunicorn(tmp_path):
    """Same user, settings, data folder, umask and hardening; restarted on failure; stopped by SIGTERM."""
    with open(UNIT, encoding="utf-8") as handle:
        collector = unit_settings(handle.read())
    with open(MAILER_UNIT, encoding="utf-8") as handle:
        text = handle.read()
    mailer = unit_settings(text)
    shared = {line for line in collector if not line.startswith(
        ("Description=", "Type=", "ExecStart=", "ExecReload=", "KillMode=", "TimeoutStopSec=", "RestartSec=",
         "RuntimeDirectory"))}
    assert shared <= mailer, sorted(shared - mailer)
    assert {"User=ami", "EnvironmentFile=/etc/ami/collector.env", "Restart=on-failure", "KillSignal=SIGTERM",
            "ExecStart=/srv/ami-usages-numeriques/.venv/bin/flask --app collector mailer"} <= mailer
    verify_unit(text, "ami-mailer.service", tmp_path)


def test_current_nginx_gets_http2_on_and_no_deprecated_listen_parameter():
    site = render({**default_values(), "NGINX_VERSION": "1.26.0"})
    assert "    http2 on;\n" in site
    assert "ssl http2" not in site
    assert "    listen 443 ssl;\n" in site and "    listen [::]:443 ssl;\n" in site
    assert "    listen 80;\n" in site and "    listen [::]:80;\n" in site


def test_older_nginx_gets_the_only_http2_form_it_knows():
    site = render({**default_values(), "NGINX_VERSION": "1.22.1"})
    assert "http2 on;" not in site
    assert "    listen 443 ssl http2;\n" in site and "    listen [::]:443 ssl http2;\n" in site


def test_an_empty_ipv6_listen_leaves_the_line_out():
    site = render({**default_values(), "HTTPS_LISTEN_V6": "", "HTTP_LISTEN_V6": ""})
    assert "[::]" not in site and "    listen 443 ssl" in site


def test_the_security_headers_no_longer_name_the_obsolete_interest_cohort():
    assert "interest-cohort" not in render(default_values())


def test_the_env_example_gives_a_sender_the_mailer_accepts():
    from collector.mail.delivery import MailSettings, check_sender

    sender = example_settings()["COLLECTOR_MAIL_FROM"].strip('"')  # systemd's EnvironmentFile removes the quotes
    assert sender.endswith("@normandie.fr>")
    check_sender(MailSettings.from_env({"COLLECTOR_SMTP_HOST": "smtp.region.example", "COLLECTOR_MAIL_FROM": sender}))
