"""The collector's configuration, read from the environment with safe defaults.

Every setting is an environment variable (see README, "The form and the collector").
`load_config(environ)` returns the Flask config mapping; nothing else reads os.environ
except AMI_NOW, which collector.phase reads per request.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .durable import TMP_DIR_NAME, fsync_dir
from .facts import DEFAULT_FACTS_PATH
from .formdef import DEFAULT_FORM_PATH

DEFAULT_DATA_DIR = "var/data"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
SECRET_KEY_FILE = "secret_key"


class ConfigError(ValueError):
    """A configuration variable holds something unusable; the message names it."""


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    text = environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in {"1", "true", "yes", "on", "oui"}:
        return True
    if text in {"0", "false", "no", "off", "non"}:
        return False
    raise ConfigError(f"{name}={text!r} : valeur attendue 1/0, on/off ou true/false.")


def _number(environ: Mapping[str, str], name: str, default: float, cast: type = int) -> Any:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = cast(text)
    except ValueError as error:
        raise ConfigError(f"{name}={text!r} : nombre attendu.") from error
    if value < 0:
        raise ConfigError(f"{name}={text!r} : nombre positif attendu.")
    return value


def parse_rate_limit(text: str) -> tuple[int, int]:
    """`20/600` → (20 posts, per 600 seconds)."""
    try:
        count, window = (int(part) for part in text.split("/"))
    except ValueError as error:
        raise ConfigError(f"COLLECTOR_RATE_LIMIT={text!r} : attendu « nombre/secondes », par exemple 20/600.") from error
    if count < 1 or window < 1:
        raise ConfigError(f"COLLECTOR_RATE_LIMIT={text!r} : deux nombres positifs attendus.")
    return count, window


def origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ConfigError(f"{url!r} : adresse complète attendue, par exemple https://ami.exemple.fr.")
    return f"{parts.scheme}://{parts.netloc}".lower()


def secret_key(data_dir: str, environ: Mapping[str, str]) -> str:
    """COLLECTOR_SECRET_KEY, or a key generated once and kept in $DATA/secret_key (mode 0600)."""
    given = environ.get("COLLECTOR_SECRET_KEY", "").strip()
    if given:
        return given
    path = os.path.join(data_dir, SECRET_KEY_FILE)
    if not os.path.exists(path):
        # Written whole under a private name, then linked: a worker never reads half a key.
        tmp_dir = os.path.join(data_dir, TMP_DIR_NAME)
        os.makedirs(tmp_dir, exist_ok=True)
        tmp_path = os.path.join(tmp_dir, f"secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_urlsafe(48).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp_path, path)
        except FileExistsError:
            pass  # another worker created it first: use theirs
        finally:
            os.unlink(tmp_path)
        fsync_dir(data_dir)
    with open(path, encoding="ascii") as handle:
        return handle.read().strip()


def database_url(environ: Mapping[str, str]) -> str | None:
    """COLLECTOR_DATABASE_URL (postgresql://…), or None: the data folder is the store."""
    url = environ.get("COLLECTOR_DATABASE_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("COLLECTOR_DATABASE_URL : adresse PostgreSQL attendue, de la forme "
                          "postgresql://utilisateur:mot-de-passe@hôte:5432/base (ou vide pour le dossier de données).")
    return url


def shared_secret_problem(environ: Mapping[str, str]) -> str | None:
    """With a shared database, every host must sign with the same key: a form served by one host
    is posted to another, a receipt link opens on any. A key generated per data folder would differ."""
    if database_url(environ) and not environ.get("COLLECTOR_SECRET_KEY", "").strip():
        return ("COLLECTOR_SECRET_KEY est vide : avec COLLECTOR_DATABASE_URL, chaque serveur doit avoir la même clé "
                "secrète (un formulaire servi par l'un est envoyé à l'autre). Générez-en une (par exemple "
                "« python3 -c 'import secrets; print(secrets.token_urlsafe(48))' ») et donnez-la à tous les serveurs.")
    return None


def load_config(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The Flask config for the collector, from COLLECTOR_* variables."""
    data_dir = os.path.abspath(environ.get("COLLECTOR_DATA_DIR", "").strip() or DEFAULT_DATA_DIR)
    os.makedirs(data_dir, exist_ok=True)
    public_url = environ.get("COLLECTOR_PUBLIC_URL", "").strip() or DEFAULT_PUBLIC_URL
    origins = {origin_of(public_url)}
    origins |= {origin_of(item) for item in environ.get("COLLECTOR_ALLOWED_ORIGINS", "").split(",") if item.strip()}
    max_body = _number(environ, "COLLECTOR_MAX_BODY_BYTES", 256 * 1024)
    site_dir = environ.get("COLLECTOR_SITE_DIR", "").strip()
    if problem := shared_secret_problem(environ):
        raise ConfigError(problem)
    return {
        "DATA_DIR": data_dir,
        "SECRET_KEY": secret_key(data_dir, environ),
        "PUBLIC_URL": public_url.rstrip("/"),
        "ALLOWED_ORIGINS": frozenset(origins),
        "SITE_DIR": os.path.abspath(site_dir) if site_dir else None,
        "RATE_LIMIT": parse_rate_limit(environ.get("COLLECTOR_RATE_LIMIT", "").strip() or "20/600"),
        "MIN_FILL_SECONDS": _number(environ, "COLLECTOR_MIN_FILL_SECONDS", 3.0, float),
        "TOKEN_MAX_AGE": _number(environ, "COLLECTOR_TOKEN_MAX_AGE", 7 * 24 * 3600),
        "MAX_CONTENT_LENGTH": max_body,
        "MAX_FORM_MEMORY_SIZE": max_body,
        "MAX_FORM_PARTS": 200,
        "TRUSTED_PROXIES": _number(environ, "COLLECTOR_TRUSTED_PROXIES", 0),
        "HSTS": _flag(environ, "COLLECTOR_HSTS", False),
        "FORM_PATH": environ.get("COLLECTOR_FORM_PATH", "").strip() or DEFAULT_FORM_PATH,
        "FACTS_PATH": environ.get("COLLECTOR_FACTS_PATH", "").strip() or DEFAULT_FACTS_PATH,
        "JSON_AS_ASCII": False,
        "DATABASE_URL": database_url(environ),
        "DATABASE_POOL_SIZE": _number(environ, "COLLECTOR_DATABASE_POOL_SIZE", 2),
        "DATABASE_TIMEOUT": _number(environ, "COLLECTOR_DATABASE_TIMEOUT", 5.0, float),
    }
