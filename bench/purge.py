"""The RGPD purge on the data folder and on PostgreSQL (durable settings: fsync and synchronous
commit, on this machine): `flask --app collector purge` run as a command, first `--dry-run`
(choosing the old dossiers), then for real, over dossiers that each hold a record, a
submission id, a history, a corrected version and two mails.

    .venv/bin/python bench/purge.py [--dossiers 500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from collector.formdef import load_form  # noqa: E402
from collector.records import serialise_record  # noqa: E402
from collector.statuses import PARIS, change_status  # noqa: E402
from collector.stores.base import Store  # noqa: E402
from collector.stores.folder import FolderStore  # noqa: E402
from bench.postgres_database import migrated_database, opener  # noqa: E402
from tests.review.factory import make_record  # noqa: E402

TODAY = "2024-06-01"  # 36 months of retention: everything received before 01/06/2021 is old
FLASK = os.path.join(REPO_ROOT, ".venv", "bin", "flask")


def fill(store: Store, count: int) -> None:
    form = load_form()
    start = datetime(2021, 4, 1, 9, tzinfo=PARIS)
    for number in range(1, count + 1):
        reference, _created = store.reference_for(f"envoi-{number}", "AMI-2021")
        record = make_record(form, number, when=start + timedelta(minutes=number))
        store.write_record(record)
        change_status(store, reference, "en_instruction", by="alice")
        store.versions.write(reference, 2, serialise_record({**record, "corrected_at": "2021-04-20T10:00:00+02:00"}))
        for kind in ("accuse", "notification"):
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = kind, "ami@example.org", "porteur@example.org"
            message.set_content("Bonjour\n")
            store.outbox.queue(f"{reference}.{kind}.eml", message, "porteur@example.org")


def run_purge(environment: dict[str, str], *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([FLASK, "--app", "collector", "purge", "--today", TODAY, *extra], env=environment, check=True,
                   stdout=subprocess.DEVNULL, cwd=REPO_ROOT)
    return time.perf_counter() - started


def measure(label: str, open_store: Callable[[], Store], environment: dict[str, str], count: int) -> None:
    store = open_store()
    fill(store, count)
    store.close()
    dry = run_purge(environment, "--dry-run")
    real = run_purge(environment)
    print(f"{label}: {count} dossiers   --dry-run {dry:6.2f} s   purge {real:6.2f} s   "
          f"({(real - dry) / count * 1000:5.2f} ms per dossier beyond the dry run; both include the command's start)",
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=500, help="old dossiers to purge (default 500)")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-purge-")
    base = {**os.environ, "COLLECTOR_SECRET_KEY": "bench-purge", "COLLECTOR_SMTP_HOST": ""}
    base.pop("COLLECTOR_DATABASE_URL", None)
    try:
        folder = os.path.join(scratch, "data")
        os.makedirs(folder)
        measure("Data folder (record last, fsync of submissions/ per dossier)", lambda: FolderStore(folder),
                {**base, "COLLECTOR_DATA_DIR": folder}, args.dossiers)
        with migrated_database() as url:
            opened = opener(url)
            host_folder = os.path.join(scratch, "host")
            os.makedirs(host_folder)
            measure("PostgreSQL (one transaction per dossier, five DELETEs, commit)", opened,
                    {**base, "COLLECTOR_DATA_DIR": host_folder, "COLLECTOR_DATABASE_URL": url}, args.dossiers)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
