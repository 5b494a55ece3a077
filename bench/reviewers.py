"""Reviewer accounts, sessions and the login throttle on both stores: what a review request and a
failed login cost on the data folder and on PostgreSQL (a throwaway cluster with PostgreSQL's
durable defaults: fsync and synchronous commit, on this machine).

- the session check every review request makes (`store.reviewers.session_is_current`), over
  1,000 requests;
- the throttle's part of one failed login (`locked_for` then `record_failure`, real
  transactions), with 0 and 5,000 (name, client) pairs already stored, over 500 new pairs;
- a whole failed login through the app (`POST /instruction/connexion`: CSRF, scrypt on the
  dummy hash, throttle), over 20 attempts.

Medians (the machine is shared).

    .venv/bin/python bench/reviewers.py
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.postgres_database import postgres_server  # noqa: E402

SECRET = "bench-secret"
PASSWORD = "un mot de passe de banc"


def median_seconds(action: Callable[[int], object], times: int) -> float:
    durations = []
    for i in range(times):
        started = time.perf_counter()
        action(i)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def fill(reviewers, count: int, now: float) -> None:
    """`count` pairs with one failure each, as many failed logins would leave them."""
    for i in range(count):
        reviewers.record_failure(SECRET, f"compte{i % 40}", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", now=now)


def failed_attempt(reviewers, address: str, now: float) -> None:
    """The throttle's part of one failed login."""
    reviewers.locked_for(SECRET, "alice", address, now)
    reviewers.record_failure(SECRET, "alice", address, now)


def failed_login_cost(app, attempts: int = 20) -> float:
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/instruction/connexion").text).group(1)

    def attempt(i: int) -> None:
        response = client.post("/instruction/connexion",
                               data={"csrf_token": token, "identifiant": f"inconnu{i}", "mot_de_passe": "faux"})
        assert response.status_code == 401, response.status_code

    return median_seconds(attempt, attempts)


def measure(label: str, fresh_settings: Callable[[], dict[str, str]]) -> None:
    """Print one line per number of pairs stored, each on a fresh data folder (and database)."""
    from collector import appstate, create_app

    now = time.time()
    for size in (0, 5_000):
        settings = fresh_settings()
        with tempfile.TemporaryDirectory() as data_dir:
            os.environ.update({"AMI_NOW": "2021-04-15T10:00:00", "COLLECTOR_COOKIE_SECURE": "0",
                               "COLLECTOR_SMTP_HOST": ""})
            app = create_app({"DATA_DIR": data_dir, "SECRET_KEY": SECRET, **settings})
            reviewers = appstate.store(app).reviewers
            try:
                reviewers.set_password("alice", PASSWORD)
                generation = reviewers.session_generation("alice")
                check = median_seconds(lambda _i: reviewers.session_is_current("alice", generation), 1_000)
                fill(reviewers, size, now)
                throttle = median_seconds(lambda i: failed_attempt(reviewers, f"192.0.{i >> 8}.{i & 255}", now), 500)
                whole = failed_login_cost(app)
            finally:
                appstate.store(app).close()
            print(f"{label:<12} {size:>12,}  {check * 1e6:>16.0f} µs  {throttle * 1e6:>15.0f} µs  {whole * 1e3:>15.1f} ms",
                  flush=True)


def main() -> int:
    print("Reviewers: median cost per request or attempt")
    print(f"{'store':<12} {'pairs stored':>12}  {'session check':>19}  {'throttle part':>18}  {'failed login':>18}")
    measure("data folder", dict)
    with postgres_server() as new_database:
        measure("PostgreSQL", lambda: {"DATABASE_URL": new_database()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
