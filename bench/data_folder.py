"""Data-folder robustness figures: what refusing aliases and fsyncing the counter cost.

- an alias bomb (a few hundred bytes, 9**10 leaves once expanded): time to refuse it with
  the collector's loader, and time PyYAML's own safe loader takes to load it;
- a typical record read back: the collector's loader (alias check included) against
  PyYAML's safe loader;
- a reference taken (`sequence.next_reference`: flock, `stat` of the files named after
  it, write and fsync of the counter) in a folder on the same file system as var/.

    .venv/bin/python bench/data_folder.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import yaml  # noqa: E402

from collector.formdef import load_form  # noqa: E402
from collector.records import serialise_record  # noqa: E402
from collector.sequence import next_reference  # noqa: E402
from collector.yamlio import FastSafeLoader, SafeLoader, YamlFileError, parse_yaml  # noqa: E402
from tests.review.factory import make_record  # noqa: E402

BOMB = "\n".join(["b0: &b0 [x, x, x, x, x, x, x, x, x]"]
                 + [f"b{n}: &b{n} [{', '.join([f'*b{n - 1}'] * 9)}]" for n in range(1, 10)]) + "\n"


def median_seconds(action, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def refuse_bomb() -> None:
    try:
        parse_yaml(BOMB, "bomb")
    except YamlFileError:
        return
    raise AssertionError("the alias bomb was loaded")


def main() -> int:
    print(f"Alias bomb of {len(BOMB.encode())} bytes:")
    print(f"  refused by the collector's loader   {median_seconds(refuse_bomb, 50) * 1e3:8.3f} ms")
    print(f"  loaded by PyYAML's safe loader      "
          f"{median_seconds(lambda: yaml.load(BOMB, Loader=SafeLoader), 20) * 1e3:8.3f} ms"  # noqa: S506
          " (shared lists, not expanded)")

    text = serialise_record(make_record(load_form(), 7)).decode("utf-8")
    fast = median_seconds(lambda: yaml.load(text, Loader=FastSafeLoader), 2000)  # noqa: S506
    library = median_seconds(lambda: yaml.load(text, Loader=SafeLoader), 2000)  # noqa: S506
    print(f"A record of {len(text.encode())} bytes read back:")
    print(f"  collector's loader (alias check)    {fast * 1e6:8.1f} µs")
    print(f"  PyYAML's safe loader                {library * 1e6:8.1f} µs")

    folder = tempfile.mkdtemp(prefix="bench-sequence-", dir=REPO_ROOT)
    try:
        per_reference = median_seconds(lambda: next_reference(folder, "AMI-2021"), 300)
    finally:
        shutil.rmtree(folder)
    print(f"A reference taken (flock, stat, write, fsync) {per_reference * 1e6:8.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
