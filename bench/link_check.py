"""The porteur's link check after revocation: the cost of a forged key, a revoked key and the
dossier page with its current key, on the data folder, through the app (Flask's test client,
no network), for a dossier whose history holds 50 events and one revocation.

    .venv/bin/python bench/link_check.py [--requests 300]
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
from collector.porteur.links import dossier_path  # noqa: E402
from collector.statuses import add_note  # noqa: E402
from tests.review.factory import make_record  # noqa: E402

SECRET = "bench-secret"
REFERENCE = "AMI-2021-0001"


def per_request_ms(client, path: str, count: int, expected: int) -> float:
    assert client.get(path).status_code == expected
    started = time.perf_counter()
    for _ in range(count):
        client.get(path)
    return (time.perf_counter() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    count = parser.parse_args().requests
    data_dir = tempfile.mkdtemp(prefix="bench-link-")
    try:
        app = create_app({"DATA_DIR": data_dir, "SECRET_KEY": SECRET})
        store = appstate.store(app)
        store.write_record(make_record(app.config["FORM"], 1))
        for number in range(49):
            add_note(store, REFERENCE, f"Note {number}.", by="alice")
        result = app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "alice"])
        assert result.exit_code == 0, result.output
        client = app.test_client()
        rows = [("forged key (refused by its signature)", f"/candidater/recu/{REFERENCE}?cle=1.forged", 404),
                ("revoked key (generation 0, history read)", dossier_path(SECRET, REFERENCE), 404),
                ("dossier page, current key (generation 1)", dossier_path(SECRET, REFERENCE, generation=1), 200)]
        print(f"{count} requests each, data folder, history of 50 events")
        for label, path, status in rows:
            print(f"  {label:<44} {per_request_ms(client, path, count, status):7.2f} ms a request")
        store.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
