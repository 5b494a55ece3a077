"""The mailer's catch-up of the dossiers' life: what a pass costs when nothing is missing.

For 1,000 and 10,000 dossiers (records generated as bench/exports.py does), each with a
history of one status change, one message to the porteur and one answer letter, every
mail already queued (remembered in mail-queued/): the first pass after a start (every
history read), a later pass (nothing changed: one stat per dossier), and a pass that
finds one lost mail among them and queues it. Then the same dossiers in PostgreSQL (a
throwaway cluster, loaded by migrate-store): the same three passes, where a later pass
costs one query on the histories' hashes and one on the versions' counts.

    .venv/bin/python bench/mail_catch_up.py
    BENCH_SIZES=1000 .venv/bin/python bench/mail_catch_up.py   # one size only
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.exports import generate  # noqa: E402
from bench.postgres_database import migrated_database, opener  # noqa: E402

SIZES = tuple(int(size) for size in os.environ.get("BENCH_SIZES", "1000,10000").split(","))


def write_histories(data_dir: str, count: int) -> None:
    from collector.yamlio import dump_yaml

    os.makedirs(os.path.join(data_dir, "reviews"))
    os.makedirs(os.path.join(data_dir, "mail-queued"))
    for number in range(1, count + 1):
        reference = f"AMI-2021-{number:05d}"
        events = [{"at": "2021-06-10T10:00:00+02:00", "by": "alice", "kind": "status", "from": "recu",
                   "to": "sans_suite", "note": "Hors champ."},
                  {"at": "2021-06-11T10:00:00+02:00", "by": "alice", "kind": "message", "text": "Une question ?"},
                  {"at": "2021-07-02T10:00:00+02:00", "by": "alice", "kind": "reponse", "outcome": "sans_suite",
                   "motivation": "Hors champ.", "subject": "Votre dossier", "text": "Madame, Monsieur, …"}]
        with open(os.path.join(data_dir, "reviews", reference + ".yaml"), "w", encoding="utf-8") as handle:
            handle.write(dump_yaml({"reference": reference, "status": "sans_suite", "events": events}))
        for kind in ("message-2", "reponse-3"):
            open(os.path.join(data_dir, "mail-queued", f"{reference}.{kind}.eml"), "w").close()


def on_postgresql(data_dir: str, size: int, facts, form, settings) -> None:
    import psycopg

    from collector.mail.catch_up import LifecycleCatchUp
    from collector.statuses import add_note
    from collector.stores.transfer import migrate

    with migrated_database(durable=False) as url:
        store = opener(url)()
        try:
            migrate(data_dir, store, "AMI-2021")
            catch_up = LifecycleCatchUp()
            for label in ("first pass after a start", "later pass, nothing changed"):
                started = time.perf_counter()
                queued = catch_up.run(store, facts, form, settings)
                print(f"{size:>7,} dossiers  PostgreSQL {label}: {time.perf_counter() - started:8.3f} s "
                      f"({len(queued)} queued)")
            with psycopg.connect(url) as connection:  # as if its queueing had failed after its event
                connection.execute("DELETE FROM outbox WHERE name = 'AMI-2021-00042.message-2.eml'")
            add_note(store, "AMI-2021-00042", "Relu.", by="alice")  # and the history changed since
            started = time.perf_counter()
            queued = catch_up.run(store, facts, form, settings)
            print(f"{size:>7,} dossiers  PostgreSQL pass finding one lost mail: "
                  f"{time.perf_counter() - started:8.3f} s ({', '.join(queued)})")
        finally:
            store.close()


def main() -> int:
    os.environ.setdefault("COLLECTOR_SECRET_KEY", "bench-secret")
    from collector import create_app
    from collector.mail.delivery import MailSettings
    from collector.mail.catch_up import LifecycleCatchUp

    for size in SIZES:
        data_dir = tempfile.mkdtemp(prefix="bench-catch-up-")
        try:
            generate(data_dir, size)
            write_histories(data_dir, size)
            app = create_app({"DATA_DIR": data_dir})
            facts, form = app.config["FACTS"], app.config["FORM"]
            settings = MailSettings(dossier_secret="bench-secret")
            catch_up = LifecycleCatchUp()
            for label in ("first pass after a start", "later pass, nothing changed"):
                started = time.perf_counter()
                queued = catch_up.run(data_dir, facts, form, settings)
                print(f"{size:>7,} dossiers  {label}: {time.perf_counter() - started:8.3f} s ({len(queued)} queued)")
            lost = os.path.join(data_dir, "mail-queued", "AMI-2021-00042.message-2.eml")
            os.unlink(lost)  # as if its queueing had failed
            history = os.path.join(data_dir, "reviews", "AMI-2021-00042.yaml")
            os.utime(history)  # and its history changed since the last pass
            started = time.perf_counter()
            queued = catch_up.run(data_dir, facts, form, settings)
            print(f"{size:>7,} dossiers  pass finding one lost mail: {time.perf_counter() - started:8.3f} s "
                  f"({', '.join(queued)})")
            os.unlink(os.path.join(data_dir, "mail-queued", "AMI-2021-00042.message-2.eml"))  # lost there too
            on_postgresql(data_dir, size, facts, form, settings)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
