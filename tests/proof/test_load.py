"""Load: 5,000 submissions from 32 concurrent clients against a real gunicorn (3 workers)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.proof.support import load_records, proof_env, quick_hidden_fields, sample_answers, submit
from tests.support.payloads import form_hidden_fields, request
from tests.support.net import free_port
from tests.support.servers import gunicorn

pytestmark = pytest.mark.proof

SUBMISSIONS = 5000
CLIENTS = 32
MARKER_FIELD = "projet_titre"


def test_5000_submissions_from_32_clients_give_exactly_one_valid_record_each(data_dir, tmp_path):
    answers = sample_answers()
    port = free_port()
    with gunicorn(proof_env(data_dir, port), workers=3, port=port, log_dir=str(tmp_path)) as server:
        page = request(server.base_url, "GET", "/candidater/").text
        assert quick_hidden_fields(page) == form_hidden_fields(page)  # the load's client reads the form right
        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = list(pool.map(
                lambda number: submit(server.base_url, answers, MARKER_FIELD, f"Projet de charge n° {number}"),
                range(SUBMISSIONS)))
    acknowledged = [outcome for outcome in outcomes if 200 <= outcome.status < 300]
    refused = sorted({outcome.status for outcome in outcomes} - {201})
    assert not refused, f"statuses other than 201: {refused}"
    assert len(acknowledged) == SUBMISSIONS

    references = [outcome.reference for outcome in acknowledged]
    assert len(set(references)) == len(references), "two submissions got the same reference"

    records = load_records(data_dir)  # every record parses and validates against the form
    assert set(records) == set(references), "exactly one record per acknowledged submission"
    for outcome in acknowledged:
        stored = records[outcome.reference]["answers"]
        assert stored[MARKER_FIELD] == outcome.marker
        assert {name: value for name, value in stored.items() if name != MARKER_FIELD} == \
            {name: value for name, value in records[references[0]]["answers"].items() if name != MARKER_FIELD}
