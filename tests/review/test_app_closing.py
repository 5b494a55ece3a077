"""Closing an app (appstate.close) closes the SQLite files it opened in its data folder: the form's
rate limits, the reviewers' login throttle (on the data folder's store), the review index. A process that makes app after app
(this suite) would otherwise keep three descriptors (the file, its -wal, its -shm) per file and app."""

from __future__ import annotations

import os

from collector import appstate
from tests.review.conftest import login
from tests.support.payloads import form_hidden_fields, valid_answers


def open_files_under(folder: str) -> list[str]:
    """The files under `folder` this process holds open (Linux: /proc/self/fd)."""
    prefix = os.path.join(os.path.realpath(folder), "")
    held = []
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:  # the listing's own descriptor, closed since
            continue
        if target.startswith(prefix):
            held.append(os.path.basename(target))
    return sorted(held)


def test_closing_the_app_closes_its_rate_limits_throttle_and_index(app, client, reviewer, records, form, data_dir,
                                                                    store_kind):
    assert login(client, password="pas le bon").status_code == 401  # the throttle counts a failure
    assert login(client).status_code == 303
    assert client.get("/instruction/").status_code == 200  # the list reads the review index
    page = client.get("/candidater/")
    answers = {name: value for name, value in valid_answers(form).items() if value is not False}
    posted = client.post("/candidater/", data={**form_hidden_fields(page.text), **answers,
                                                "rgpd": "oui"}, headers={"Origin": "http://localhost"})
    assert posted.status_code in (303, 422), posted.status_code  # counted by the form's rate limits either way
    opened = open_files_under(data_dir)
    shared = {"login-throttle.sqlite3", "ratelimit.sqlite3"} if store_kind == "folder" else set()
    assert {"index.sqlite3", *shared} <= set(opened), opened  # on PostgreSQL, limits and throttle are its tables

    appstate.close(app)

    assert open_files_under(data_dir) == []
