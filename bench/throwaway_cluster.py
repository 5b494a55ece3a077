"""The tests' throwaway PostgreSQL cluster: what one test's database costs on disk and in tmpfs.

Each PostgreSQL test copies the migrated template into a database of its own; this prints, for
a cluster in the system's temporary folder and one in /dev/shm (tests/support/postgres.py picks
the latter when it has room), the time to create a database, to drop one, and to remove the
cluster's folder holding DATABASES of them, as a session's end does.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support import postgres  # noqa: E402

DATABASES = 20


def measure(parent: str | None) -> tuple[float, float, float]:
    """(create, drop) seconds per database and the folder's removal, for a cluster under `parent`."""
    chosen = postgres.cluster_parent
    postgres.cluster_parent = lambda durable: parent
    try:
        cluster = postgres.start_cluster()
    finally:
        postgres.cluster_parent = chosen
    try:
        cluster.template = postgres.migrated_template(cluster)
        started = time.perf_counter()
        names = [cluster.new_database(template=cluster.template) for _ in range(DATABASES)]
        create = (time.perf_counter() - started) / DATABASES
        started = time.perf_counter()
        for name in names[: DATABASES // 2]:
            cluster.drop_database(name)
        drop = (time.perf_counter() - started) / (DATABASES // 2)
        cluster.stop()
        started = time.perf_counter()
        shutil.rmtree(cluster.folder)
        return create, drop, time.perf_counter() - started
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)


def main() -> None:
    places = [("temporary folder", tempfile.gettempdir())]
    if postgres.cluster_parent(durable=False):
        places.append(("tmpfs", postgres.MEMORY_FOLDER))
    print(f"one test's database, cluster of {DATABASES} databases ({DATABASES // 2} kept to the end)")
    for label, parent in places:
        create, drop, removal = measure(parent)
        print(f"  {label:<17} create {create * 1000:6.0f} ms   drop {drop * 1000:6.0f} ms   "
              f"remove the folder {removal:5.1f} s")


if __name__ == "__main__":
    main()
