"""What the sender adds to each mail by making its dossier links current (collector/mail/current_links.py):
the cost of `refresh` for a Région notification (no dossier link), a porteur's acknowledgement whose
link is current (the usual case: parsed, its history read) and one whose link was revoked since it
was queued (rewritten), on the data folder, for a dossier whose history holds 50 events.

    .venv/bin/python bench/current_links.py [--messages 500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
os.environ.setdefault("AMI_NOW", "2021-04-15T10:00:00")
os.environ.setdefault("COLLECTOR_SMTP_HOST", "")

from collector import appstate, create_app  # noqa: E402
from collector.mail import delivery, lifecycle  # noqa: E402
from collector.mail.current_links import refresh  # noqa: E402
from collector.mail.wire import wire_bytes  # noqa: E402
from collector.statuses import add_note  # noqa: E402
from tests.review.factory import make_record  # noqa: E402

SECRET = "bench-secret"
REFERENCE = "AMI-2021-0001"


def per_message_us(store, recipient: str, raw: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        refresh(store, SECRET, recipient, raw)
    return (time.perf_counter() - started) * 1e6 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    count = parser.parse_args().messages
    data_dir = tempfile.mkdtemp(prefix="bench-current-links-")
    try:
        app = create_app({"DATA_DIR": data_dir, "SECRET_KEY": SECRET})
        store = appstate.store(app)
        record = make_record(app.config["FORM"], 1)
        store.write_record(record)
        for number in range(50):
            add_note(store, REFERENCE, f"Note {number}.", by="alice")
        facts, form, contact = app.config["FACTS"], app.config["FORM"], record["answers"]["contact_email"]
        with app.app_context():
            settings = lifecycle.settings()
            notification = wire_bytes(delivery.compose_notification(record, facts, form, settings))
            acknowledgement = wire_bytes(delivery.compose_acknowledgement(record, facts, form, settings))
            result = app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "alice"])
            assert result.exit_code == 0, result.output
            assert refresh(store, SECRET, contact, acknowledgement) != acknowledgement
            current = wire_bytes(delivery.compose_acknowledgement(record, facts, form, lifecycle.settings()))
            assert refresh(store, SECRET, contact, current) is current
            store.write_record(make_record(form, 2))
            never_revoked = wire_bytes(delivery.compose_acknowledgement(make_record(form, 2), facts, form,
                                                                        lifecycle.settings()))
            for number in range(50):
                add_note(store, "AMI-2021-0002", f"Note {number}.", by="alice")
        print(f"{count} messages each, data folder, histories of 50 events")
        for label, recipient, raw in (("Région notification (no dossier link)", facts["contacts"]["notification_email"],
                                       notification),
                                      ("acknowledgement, dossier never revoked", contact, never_revoked),
                                      ("acknowledgement, revoked dossier, link current", contact, current),
                                      ("acknowledgement, link revoked since (rewritten)", contact, acknowledgement)):
            print(f"  {label:<50} {per_message_us(store, recipient, raw, count):8.0f} µs a message")
        store.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
