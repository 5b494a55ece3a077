"""The per-client post limit: shared by every worker, sliding, and keeping no address."""

from __future__ import annotations

import os
import sqlite3

from collector.ratelimit import RateLimiter

WINDOW = 600


def limiter(data_dir: str, limit: int = 5) -> RateLimiter:
    return RateLimiter(data_dir, limit, WINDOW, "clé de test")


def test_posts_within_the_limit_pass_and_the_next_one_waits(data_dir):
    rate = limiter(data_dir)
    start = 100 * WINDOW + 10
    assert [rate.hit("192.0.2.1", start + i) for i in range(5)] == [None] * 5
    wait = rate.hit("192.0.2.1", start + 5)
    assert wait is not None and 0 < wait <= WINDOW


def test_a_burst_across_the_end_of_a_window_is_still_limited(data_dir):
    rate = limiter(data_dir)
    boundary = 100 * WINDOW
    assert rate.hit("192.0.2.1", boundary - 0.5) is None
    answers = [rate.hit("192.0.2.1", boundary + 0.5 + i / 10) for i in range(5)]
    assert answers[:4] == [None] * 4 and answers[4] is not None


def test_after_a_quiet_window_the_client_may_post_again(data_dir):
    rate = limiter(data_dir)
    start = 100 * WINDOW
    for i in range(6):
        rate.hit("192.0.2.1", start + i)
    assert rate.hit("192.0.2.1", start + 2 * WINDOW + 1) is None


def test_every_worker_counts_in_the_same_place_and_clients_apart(data_dir):
    workers = [limiter(data_dir), limiter(data_dir)]
    start = 100 * WINDOW + 10
    assert [workers[i % 2].hit("192.0.2.1", start + i) for i in range(5)] == [None] * 5
    assert workers[1].hit("192.0.2.1", start + 6) is not None
    assert workers[0].hit("198.51.100.7", start + 7) is None


def test_the_database_keeps_no_address(data_dir):
    rate = limiter(data_dir)
    rate.hit("192.0.2.1")
    rows = sqlite3.connect(rate.path).execute("SELECT client FROM hits").fetchall()
    assert rows and all("192.0.2" not in client for (client,) in rows)
    folder = os.path.dirname(rate.path)
    for name in os.listdir(folder):  # the database and its write-ahead log
        with open(os.path.join(folder, name), "rb") as handle:
            assert b"192.0.2.1" not in handle.read(), name
