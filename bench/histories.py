"""Dossier histories: appends per second and p50 / p99 latency on the data folder and on
PostgreSQL (durable settings: fsync and synchronous commit, on this machine).

Each writer is its own process with its own store (as a gunicorn worker, or a host, has),
appending notes through statuses.add_note: all on one dossier (they wait for each other
under the reference's lock) or each on its own dossier. Then the porteur's page reads: the
history and the newest version of a dossier holding 50 events and 2 corrections.

    .venv/bin/python bench/histories.py [--appends 200] [--writers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from collector import dossier  # noqa: E402
from collector.formdef import load_form  # noqa: E402
from collector.records import serialise_record  # noqa: E402
from collector.statuses import add_note, read_history  # noqa: E402
from collector.stores.base import Store  # noqa: E402
from collector.stores.folder import FolderStore  # noqa: E402
from bench.postgres_database import migrated_database, opener  # noqa: E402
from tests.review.factory import make_record  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _writer(open_store: Callable[[], Store], references: list[str], count: int, who: str,
            results: multiprocessing.Queue) -> None:
    store = open_store()
    latencies = []
    for number in range(count):
        started = time.perf_counter()
        add_note(store, references[number % len(references)], f"{who} {number}", by=who)
        latencies.append(time.perf_counter() - started)
    store.close()
    results.put(latencies)


def appends(open_store: Callable[[], Store], references: list[str], writers: int, total: int) -> tuple[float, list[float]]:
    """(appends per second, latencies) with `writers` processes sharing `total` appends."""
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = context.Queue()
    each = max(1, total // writers)
    processes = [context.Process(target=_writer, args=(open_store, references if len(references) == 1
                                                      else [references[n % len(references)]], each, f"w{n}", results))
                 for n in range(writers)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    latencies = [value for _ in processes for value in results.get(timeout=600)]
    for process in processes:
        process.join(60)
    return len(latencies) / (time.perf_counter() - started), latencies


def page_reads(store: Store, reference: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        read_history(store, reference)
        dossier.latest_record(store, reference)
        latencies.append(time.perf_counter() - started)
    return latencies


def fill(store: Store, writers: int) -> list[str]:
    """One record per writer, and a dossier with 50 events and 2 corrections (the last one)."""
    form = load_form()
    references = []
    for number in range(1, writers + 2):
        record = make_record(form, number)
        store.write_record(record)
        references.append(record["reference"])
    busy = references[-1]
    for number in range(50):
        add_note(store, busy, f"Note {number}", by="alice")
    for version in (2, 3):
        store.versions.write(busy, version, serialise_record({**record, "version": version}))
    return references


def measure(label: str, open_store: Callable[[], Store], args: argparse.Namespace) -> None:
    store = open_store()
    references = fill(store, args.writers)
    rows = [("one writer", [references[0]], 1), (f"{args.writers} writers, one dossier", [references[0]], args.writers),
            (f"{args.writers} writers, a dossier each", references[:args.writers], args.writers)]
    print(f"\n{label}:", flush=True)
    for name, chosen, writers in rows:
        rate, latencies = appends(open_store, chosen, writers, args.appends)
        print(f"  append, {name:<28} {rate:6.0f} /s   p50 {percentile(latencies, .5) * 1000:6.2f} ms   "
              f"p99 {percentile(latencies, .99) * 1000:6.2f} ms", flush=True)
    reads = page_reads(store, references[-1], args.appends)
    print(f"  porteur's page reads (history of 50 events + newest of 3 versions): "
          f"p50 {percentile(reads, .5) * 1000:6.2f} ms   p99 {percentile(reads, .99) * 1000:6.2f} ms", flush=True)
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=200, help="appends per row (default 200)")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers (default 4)")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-histories-")
    try:
        folder = os.path.join(scratch, "data")
        os.makedirs(folder)
        measure("Data folder (flock, temporary file, fsync, rename, fsync of the folder)",
                lambda: FolderStore(folder), args)
        with migrated_database() as url:
            opened = opener(url)
            measure("PostgreSQL (advisory lock, one row rewritten, commit)", opened, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
