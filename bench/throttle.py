"""The login throttle's cost per failed login with 0, 5,000 and 50,000 (name, client) pairs stored.

For each size, a fresh data folder's throttle database is filled with that many pairs
still within their window (keyed exactly as the collector keys them), then:

- the throttle's own work for one failed login (`locked_for` then `record_failure`, each
  a real sqlite transaction on the real file), over 1,000 new pairs;
- a whole failed login through the review app (`POST /instruction/connexion`, CSRF,
  scrypt check of a dummy hash, throttle), over 20 attempts;
- `GET /candidater/` while another process holds the throttle database's write lock:
  the public form never waits on it.

Medians (the machine is shared). Before the move to sqlite (accounts/throttle.yaml),
the review measured 0.84 s per failed login at 5,000 entries.

    .venv/bin/python bench/throttle.py
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from collector.review import throttle  # noqa: E402

SIZES = (0, 5_000, 50_000)
SECRET = "bench-secret"


def fill(data_dir: str, count: int, now: float) -> None:
    """`count` pairs with 1 to 4 failures each, in one transaction (as many logins would leave them)."""
    throttle.locked_for(data_dir, SECRET, "création", "0.0.0.0", now=now)
    connection = sqlite3.connect(throttle.database_path(data_dir))
    with connection:
        connection.executemany(
            "INSERT INTO failures VALUES (?, ?, ?, 0, ?)",
            ((throttle.pair_key(SECRET, f"compte{i % 40}", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"),
              1 + i % 4, now - i % 600, now - i % 600 + throttle.WINDOW) for i in range(count)))
    connection.close()


def throttle_cost(data_dir: str, now: float, attempts: int = 1_000) -> float:
    """Median seconds of the throttle's part of one failed login."""
    durations = []
    for i in range(attempts):
        address = f"192.0.{i >> 8 & 255}.{i & 255}"
        started = time.perf_counter()
        throttle.locked_for(data_dir, SECRET, "alice", address, now=now)
        throttle.record_failure(data_dir, SECRET, "alice", address, now=now)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def app_for(data_dir: str):
    os.environ.update({"COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_SECRET_KEY": SECRET, "COLLECTOR_COOKIE_SECURE": "0",
                       "COLLECTOR_SMTP_HOST": "", "AMI_NOW": "2021-04-15T10:00:00"})
    from collector import create_app

    return create_app()


def failed_login_cost(app, attempts: int = 20) -> float:
    """Median seconds of a whole failed login (unknown names: scrypt on the dummy hash)."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/instruction/connexion").text).group(1)
    durations = []
    for i in range(attempts):
        started = time.perf_counter()
        response = client.post("/instruction/connexion",
                               data={"csrf_token": token, "identifiant": f"inconnu{i}", "mot_de_passe": "faux"})
        durations.append(time.perf_counter() - started)
        assert response.status_code == 401, response.status_code
    return statistics.median(durations)


def form_while_locked(app, data_dir: str, attempts: int = 50) -> float:
    """Median seconds of GET /candidater/ while the throttle database is locked for writing."""
    holder = sqlite3.connect(throttle.database_path(data_dir), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    client = app.test_client()
    durations = []
    try:
        for _ in range(attempts):
            started = time.perf_counter()
            assert client.get("/candidater/").status_code == 200
            durations.append(time.perf_counter() - started)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    return statistics.median(durations)


def main() -> int:
    print("Login throttle (sqlite, state/login-throttle.sqlite3): median cost per failed login")
    print(f"{'pairs stored':>13}  {'throttle only':>14}  {'whole failed login':>19}  {'GET /candidater/ (db locked)':>29}")
    now = time.time()
    for size in SIZES:
        with tempfile.TemporaryDirectory() as data_dir:
            fill(data_dir, size, now)
            alone = throttle_cost(data_dir, now)
            app = app_for(data_dir)
            whole = failed_login_cost(app)
            form = form_while_locked(app, data_dir)
        print(f"{size:>13,}  {alone * 1e6:>11.0f} µs  {whole * 1e3:>16.1f} ms  {form * 1e3:>26.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
