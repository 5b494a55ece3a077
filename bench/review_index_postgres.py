"""The review index on PostgreSQL beside the data folder, on the same records, in one run.

10,000 records (--records) are generated as bench/exports.py does, copied into a throwaway
PostgreSQL cluster with `migrate-store`, then, for each store, in process (the index's own
work, Python's start-up apart):

- reindex from scratch (the data folder with one process per core; PostgreSQL in one
  process: its pool is not shared with forked processes);
- a request's sync when nothing changed (what every review page pays first), median of 30;
- the sync after another host stored one more record (it is read and indexed);
- `list --departement 14`.

    .venv/bin/python bench/review_index_postgres.py [--records 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.exports import generate  # noqa: E402
from bench.postgres_database import migrated_database  # noqa: E402
from bench.review_index import timed_cpu  # noqa: E402

ENV = {"COLLECTOR_SECRET_KEY": "bench-secret", "COLLECTOR_SMTP_HOST": "", "AMI_NOW": "2021-05-28T20:00:00"}


def measure(label: str, app, add_record) -> None:
    from collector import appstate
    from collector.review.indexing import app_index

    runner = app.test_cli_runner()

    def fresh_total() -> None:
        with app.test_request_context("/instruction/"):
            app_index().total()

    wall, cpu = timed_cpu(lambda: app_index(app).rebuild(os.cpu_count() or 1))
    print(f"{label:<12} reindex                         wall {wall:7.3f} s   CPU {cpu:7.3f} s")
    fresh_total()
    quiet = [timed_cpu(fresh_total) for _ in range(30)]
    print(f"{label:<12} sync, nothing changed (median)  wall {statistics.median(w for w, _c in quiet):7.3f} s   "
          f"CPU {statistics.median(c for _w, c in quiet):7.3f} s")
    add_record(appstate.store(app))
    wall, cpu = timed_cpu(fresh_total)
    print(f"{label:<12} sync after one new record       wall {wall:7.3f} s   CPU {cpu:7.3f} s")
    wall, cpu = timed_cpu(lambda: runner.invoke(args=["list", "--departement", "14"]))
    print(f"{label:<12} list --departement 14           wall {wall:7.3f} s   CPU {cpu:7.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.update(ENV)
    from collector import appstate, create_app
    from collector.records import read_record, record_path

    scratch = tempfile.mkdtemp(prefix="bench-review-pg-")
    try:
        folder, host = os.path.join(scratch, "dossier"), os.path.join(scratch, "hote")
        os.makedirs(host)
        started = time.perf_counter()
        generate(folder, args.records)
        extra = read_record(record_path(folder, f"AMI-2021-{args.records:05d}"))
        os.unlink(record_path(folder, extra["reference"]))  # stored later, "by another host"
        with migrated_database(durable=False) as url:
            on_postgres = create_app({"DATA_DIR": host, "DATABASE_URL": url})
            copied = on_postgres.test_cli_runner().invoke(args=["migrate-store", "--from", folder])
            assert copied.exit_code == 0, copied.output
            print(f"{args.records - 1} records generated and copied into PostgreSQL in "
                  f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} cores")
            on_folder = create_app({"DATA_DIR": folder})
            measure("dossier", on_folder, lambda store: store.write_record(extra))
            measure("postgresql", on_postgres, lambda store: store.write_record(extra))
            appstate.store(on_postgres).close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
