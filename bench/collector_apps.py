"""App factories for bench/collector.py: the collector as deployed, its intake alone, and
the ladder of the intake's mandatory steps.

`intake_only()` is the real collector with the `record_stored` listeners disconnected
(no mail queued), to tell the intake's own cost from the mail module's.

`ladder(step)` is the real collector with one more route, POST /etape/, that does the
intake's mandatory work up to `step` with the collector's own functions, then answers
204: how far each step takes the throughput from the bare endpoint's.
"""

import os
import uuid
from datetime import datetime, timezone

from flask import Response, current_app, request

from collector import create_app
from collector.events import record_stored
from collector.formdef import ordered_answers
from collector.payload import read_submission
from collector.durable import write_new_file
from collector.records import RECORD_SUFFIX, SUBMISSIONS_DIR, build_record, serialise_record, write_record

LADDER = (
    ("flask", "a Flask route of the collector (its headers and hooks), nothing else"),
    ("parse", "+ reading the url-encoded body into the form's fields"),
    ("validate", "+ the marshmallow schema from the form definition (SIRET, e-mail, phone…)"),
    ("yaml", "+ the record as YAML, read back and compared"),
    ("write", "+ the durable write (tmp, fsync, link, folder fsync)"),
)
STEPS = tuple(name for name, _ in LADDER)
# Outside the ladder: the framework and the durable write with nothing between them.
WRITE_ALONE = ("flask+write", "a Flask route of the collector that only writes a ready-made record durably")


def intake_only():
    app = create_app()
    for receiver in list(record_stored.receivers.values()):
        record_stored.disconnect(receiver)
    return app


def ladder(step: str):
    if step == WRITE_ALONE[0]:
        return write_alone()
    last = STEPS.index(step)
    app = intake_only()

    @app.post("/etape/")
    def mandatory_steps() -> Response:
        config = current_app.config
        form = config["FORM"]
        if last >= STEPS.index("parse"):
            values, _hidden = read_submission(request, form, config["MAX_FORM_PARTS"])
        if last >= STEPS.index("validate"):
            answers = ordered_answers(form, current_app.extensions["ami_intake"].schema.load(values))
        if last >= STEPS.index("yaml"):
            record = build_record("ETAPE-" + uuid.uuid4().hex, datetime.now(timezone.utc), form.version, answers)
        if step == "yaml":
            serialise_record(record)
        if step == "write":
            write_record(config["DATA_DIR"], record)  # serialises, reads back, then writes durably
        return Response(status=204)

    return app


def write_alone():
    """POST /etape/ writes the same ready-made record bytes under a new name, durably, and answers 204."""
    app = intake_only()
    folder = os.path.join(app.config["DATA_DIR"], SUBMISSIONS_DIR)
    form = app.config["FORM"]
    data = serialise_record(build_record("ETAPE", datetime.now(timezone.utc), form.version, {"projet": "x" * 1200}))

    @app.post("/etape/")
    def durable_write_only() -> Response:
        write_new_file(folder, f"ETAPE-{uuid.uuid4().hex}{RECORD_SUFFIX}", data)
        return Response(status=204)

    return app
