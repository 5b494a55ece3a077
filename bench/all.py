"""Every figure of the project in one run (`make bench`).

Runs each bench script as its own process, one after the other (they measure, so they
must not compete for the two cores), prints its output as it comes, then a summary.
A script that is missing or fails is reported, and the run exits non-zero.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)

# (script, what it measures)
SCRIPTS = [
    ("site.py", "pages: bytes and requests in a real browser, build time"),
    ("precompress.py", "production build: sizes before and after pre-compression"),
    ("collector.py", "collector: throughput against a bare endpoint, p50 / p99"),
    ("exports.py", "reviewers: exports of 1,000 and 10,000 records, list with a filter"),
    ("throttle.py", "login throttle: cost per failed login at 0 / 5,000 / 50,000 pairs"),
    ("reviewers.py", "reviewers on both stores: session check, throttle, failed login"),
    ("data_folder.py", "data folder: alias bomb refused, record read-back, a reference taken with fsync"),
    ("review_index.py", "reviewers: index, review pages through gunicorn, list, reindex at 1,000 and 10,000"),
    ("review_index_postgres.py", "reviewers' index on PostgreSQL beside the data folder: reindex, sync, list"),
    ("mail/catch_up.py", "mailer: the catch-up pass over 1,000 and 10,000 histories, first and later passes"),
    ("lost_link.py", "lost-link page: known and unknown addresses alike; the mailer's look-up with and without index"),
    ("before_after.py", "reviewers: a new process's list and reindex, this tree against main"),
    ("intake_fsyncs.py", "collector: fsyncs and CPU per stored post, this tree against main"),
    ("histories.py", "dossier histories: appends and the porteur's page reads, data folder and PostgreSQL"),
    ("purge.py", "RGPD purge: choosing and forgetting 500 old dossiers, data folder and PostgreSQL"),
    ("link_check.py", "porteur's link check: a forged key, a revoked key, the dossier page at its current key"),
    ("throwaway_cluster.py", "the tests' PostgreSQL: one test's database created, dropped, removed, on disk and in tmpfs"),
]


def run(script: str) -> tuple[str, float]:
    """Run one bench script; return its outcome ('ok', 'missing', or its exit code) and duration.
    A script exits non-zero when it crashes or when a figure misses its floor."""
    path = os.path.join(BENCH_DIR, script)
    if not os.path.exists(path):
        print(f"bench/{script} is missing: no figures for it.", flush=True)
        return "missing", 0.0
    started = time.monotonic()
    completed = subprocess.run([sys.executable, path], cwd=REPO_ROOT)
    duration = time.monotonic() - started
    return ("ok" if completed.returncode == 0 else f"exit {completed.returncode}: see above"), duration


def main() -> int:
    outcomes = []
    for script, purpose in SCRIPTS:
        print(f"\n=== bench/{script}: {purpose}", flush=True)
        outcomes.append((script, *run(script)))
    print("\n=== summary")
    for script, outcome, duration in outcomes:
        print(f"bench/{script:<15} {outcome:<18} {duration:6.1f} s")
    return 0 if all(outcome == "ok" for _, outcome, _ in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
