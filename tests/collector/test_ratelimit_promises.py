"""The post limit (collector/ratelimit.py) keeps its promises beyond the counts: the database is
where the docstring says and shared in WAL mode, a wait is never under a second and is exact for
small windows too, the clock is the real one unless given, and each process uses its own connection."""

from __future__ import annotations

import multiprocessing
import os
import re
import sqlite3
import time

from collector.ratelimit import RateLimiter


def test_the_counts_live_in_the_state_folder_in_wal_mode(data_dir):
    rate = RateLimiter(data_dir, 5, 600, "clé")
    assert rate.path == os.path.join(data_dir, "state", "ratelimit.sqlite3")
    rate.hit("192.0.2.1", 1000.0)
    assert sqlite3.connect(rate.path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_client_is_a_keyed_hash_of_128_bits(data_dir):
    rate = RateLimiter(data_dir, 5, 600, "clé")
    key = rate.client_key("192.0.2.1")
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert key != RateLimiter(data_dir, 5, 600, "une autre clé").client_key("192.0.2.1")


def test_a_short_wait_is_rounded_up_to_the_next_whole_second(data_dir):
    """limit 2 per 10 s: 21 posts in one window weigh 1.05 half a second before the next one ends."""
    rate = RateLimiter(data_dir, 2, 10, "clé")
    for i in range(21):
        rate.hit("192.0.2.1", 1000.0 + i / 100)
    assert rate.hit("192.0.2.1", 1019.5) == 1  # 0.5 s: the next window, where one more post passes
    assert rate.hit("192.0.2.1", 1020.5) is None


def test_without_a_time_given_the_clock_is_the_real_one(data_dir):
    rate = RateLimiter(data_dir, 1, 3600, "clé")
    assert rate.hit("192.0.2.1") is None
    assert rate.hit("192.0.2.1") is not None
    window = int(time.time() // 3600)
    rows = sqlite3.connect(rate.path).execute("SELECT window, count FROM hits").fetchall()
    assert rows in ([(window, 2)], [(window - 1, 1), (window, 1)])  # unless an hour struck in between


def _hit_in_child(rate: RateLimiter, inherited, queue) -> None:
    queue.put((rate.hit("192.0.2.1", 1000.0), rate._connection() is inherited))


def test_a_forked_worker_opens_its_own_connection_and_shares_the_counts(data_dir):
    rate = RateLimiter(data_dir, 2, 600, "clé")
    assert rate.hit("192.0.2.1", 1000.0) is None  # the parent's connection exists before the fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_hit_in_child, args=(rate, rate._connection(), queue))
    child.start()
    child.join(30)
    assert child.exitcode == 0 and queue.get(timeout=5) == (None, False)
    assert rate.hit("192.0.2.1", 1000.0) is not None  # the third post of the window


def test_a_wait_within_the_window_is_exact_when_the_previous_window_weighs_alone(data_dir):
    """limit 5: 8 posts in the last window, a quarter of this one gone. The first post here is
    refused (1 + 8 × 0.75 = 7); the next passes once 2 + 8 × (1 − f) ≤ 5, at f = 0.625: 225 s later."""
    rate = RateLimiter(data_dir, 5, 600, "clé")
    for i in range(8):
        rate.hit("192.0.2.1", 100 * 600 + 10 + i)
    assert rate.hit("192.0.2.1", 101 * 600 + 150) == 226


def test_a_worker_keeps_one_connection_without_waiting_on_the_disk(data_dir):
    """Counts are advisory: they are not fsynced (synchronous=OFF), and one connection per
    process and thread is opened once, not on every post."""
    rate = RateLimiter(data_dir, 5, 600, "clé")
    connection = rate._connection()
    assert rate._connection() is connection
    assert connection.execute("PRAGMA synchronous").fetchone() == (0,)
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (10_000,)  # a busy database: 10 s at most


def test_a_wait_when_this_window_is_full_counts_its_own_posts_in_the_next_one(data_dir):
    """limit 5: 8 posts last window, then 6 here a quarter in. Nothing more passes in this window;
    in the next, one passes once 1 + 6 × (1 − f) ≤ 5, at f = 1/3: 450 s + 200 s from now."""
    rate = RateLimiter(data_dir, 5, 600, "clé")
    for i in range(8):
        rate.hit("192.0.2.1", 100 * 600 + 10 + i)
    waits = [rate.hit("192.0.2.1", 101 * 600 + 150 + i / 100) for i in range(6)]
    assert waits == [226, 300, 375, 450, 570, 650]


def test_at_the_very_start_of_a_window_without_a_previous_one_the_limit_holds(data_dir):
    rate = RateLimiter(data_dir, 1, 600, "clé")
    assert rate.hit("192.0.2.1", 100 * 600) is None
    # Two posts here weigh 2 × (1 − f) in the next window: one more passes only after it, 1200 s on.
    assert rate.hit("192.0.2.1", 100 * 600) == 1201
