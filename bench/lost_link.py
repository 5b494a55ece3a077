"""The lost-link page: the same work for a known and an unknown address; the mailer's share.

For 1,000 and 10,000 records (generated as bench/exports.py does), in process (the
collector's own work, no network):

- the page (`POST /candidater/dossier-perdu/`) for addresses that have a dossier and for
  addresses that have none, p50 and p95: both write one durable request file;
- what the page used to do for every address before the mailer took the look-up over
  (dossier.contacts_for_email over every record), for comparison;
- the mailer's handling of one request: finding the dossiers through the review index's
  e-mail key, and by reading every record (no index), mail queued included;
- the same page and the mailer's handling with PostgreSQL as the store (a throwaway cluster with
  the default durable settings, the records copied by migrate-store): the request is a row, the
  look-up one query over the records and their newest versions (no review index).

    .venv/bin/python bench/lost_link.py [--requests 200] [--no-postgres]
"""

from __future__ import annotations

import argparse
import logging
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

SIZES = (1_000, 10_000)


def quantiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


def page_times(app, addresses: list[str]) -> list[float]:
    times = []
    for number, address in enumerate(addresses):
        client = app.test_client()
        started = time.perf_counter()
        reply = client.post("/candidater/dossier-perdu/", data={"contact_email": address},
                            environ_base={"REMOTE_ADDR": f"10.{number // 256 % 256}.{number % 256}.1"})  # a /24 each
        times.append(time.perf_counter() - started)
        assert reply.status_code == 200, reply.status_code
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true", help="the data folder only")
    arguments = parser.parse_args()
    os.environ.setdefault("COLLECTOR_SECRET_KEY", "bench-secret")
    os.environ["COLLECTOR_SMTP_HOST"] = ""
    os.environ["AMI_NOW"] = "2021-04-15T10:00:00"
    from collector import create_app
    from collector.mail import lifecycle
    from collector.dossier import contacts_for_email
    from collector.link_requests import handle_requests, write_request
    from collector.review.indexing import email_lookup
    from collector.records import iter_record_paths
    from collector.review.indexing import app_index

    logging.disable(logging.INFO)  # one log line per request otherwise
    count = arguments.requests
    for size in SIZES:
        data_dir = tempfile.mkdtemp(prefix="bench-lost-link-")
        try:
            generate(data_dir, size)
            app = create_app({"DATA_DIR": data_dir, "RATE_LIMIT": (1_000_000, 600)})
            known = [f"c{1 + number * (size // count)}@exemple.fr" for number in range(count)]
            unknown = [f"inconnu{number}@exemple.fr" for number in range(count)]
            page_times(app, ["echauffement@exemple.fr"])
            interleaved = page_times(app, [address for pair in zip(known, unknown) for address in pair])
            known_times, unknown_times = interleaved[0::2], interleaved[1::2]  # alternated: same load on both
            print(f"{size:>7,} records  page, address with a dossier:    {quantiles(known_times)}")
            print(f"{size:>7,} records  page, address without a dossier: {quantiles(unknown_times)}")
            scans = []
            for address in known[:10]:
                started = time.perf_counter()
                contacts_for_email(data_dir, address, iter_record_paths(data_dir))
                scans.append(time.perf_counter() - started)
            print(f"{size:>7,} records  before: every record read per request: {quantiles(scans)}")
            with app.app_context():
                settings = lifecycle.settings()
                shutil.rmtree(os.path.join(data_dir, "link-requests"), ignore_errors=True)
                app_index(app).rebuild()
                lookup = email_lookup(app)
                for label, finder, addresses in (("with the review index", lookup, known[:50]),
                                                 ("without an index (records read)", None, known[50:60])):
                    times = []
                    for address in addresses:
                        write_request(data_dir, address)
                        started = time.perf_counter()
                        assert handle_requests(data_dir, app.config["FACTS"], settings, finder) == 1
                        times.append(time.perf_counter() - started)
                    print(f"{size:>7,} records  mailer, one request {label}: {quantiles(times)}")
            if not arguments.no_postgres:
                on_postgresql(data_dir, size, known, unknown)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def on_postgresql(data_dir: str, size: int, known: list[str], unknown: list[str]) -> None:
    """The page and the mailer's handling with the records of `data_dir` copied into PostgreSQL."""
    import psycopg

    from collector import appstate, create_app
    from collector.mail import lifecycle
    from collector.link_requests import handle_requests

    host_dir = tempfile.mkdtemp(prefix="bench-lost-link-host-")
    try:
        with migrated_database(durable=True) as url:
            app = create_app({"DATA_DIR": host_dir, "DATABASE_URL": url, "RATE_LIMIT": (1_000_000, 600)})
            copied = app.test_cli_runner().invoke(args=["migrate-store", "--from", data_dir])
            assert copied.exit_code == 0, copied.output
            store = appstate.store(app)
            page_times(app, ["echauffement@exemple.fr"])
            interleaved = page_times(app, [address for pair in zip(known, unknown) for address in pair])
            print(f"{size:>7,} records  PostgreSQL page, address with a dossier:    {quantiles(interleaved[0::2])}")
            print(f"{size:>7,} records  PostgreSQL page, address without a dossier: {quantiles(interleaved[1::2])}")
            with psycopg.connect(url) as connection:
                connection.execute("DELETE FROM link_requests")
            with app.app_context():
                settings, times = lifecycle.settings(), []
                for address in known[:50]:
                    store.link_requests.write(address)
                    started = time.perf_counter()
                    assert handle_requests(store, app.config["FACTS"], settings) == 1
                    times.append(time.perf_counter() - started)
            print(f"{size:>7,} records  PostgreSQL mailer, one request (a query, no index): {quantiles(times)}")
            store.close()
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
