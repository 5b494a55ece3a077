"""Files of the data folder edited by hand or corrupted: each bad file is named, flagged and
skipped, never fatal to the others, in `list`, `show`, `export csv|xlsx`, the review pages
and the mail round (the real commands, the real app, a real SMTP server on loopback)."""

from __future__ import annotations

import io
import os
import re

import pytest
import yaml
from openpyxl import load_workbook

from collector.mail.delivery import MailSettings, deliver_outbox, pending, reconcile
from collector.records import record_path
from tests.review.conftest import (app, client, form, logged_in, make_app, review_env, reviewer,  # noqa: F401 - fixtures
                                   runner)
from tests.review.factory import write_records
from tests.review.smtp import start_smtp
from tests.support.net import free_port

pytestmark = pytest.mark.proof

BAD = "AMI-2021-0002"
GOOD = ("AMI-2021-0001", "AMI-2021-0003")
# Nine lists of nine aliases of the list above: 9**10 leaves once expanded, 400 bytes on disk.
ALIAS_BOMB = "\n".join(["b0: &b0 [x, x, x, x, x, x, x, x, x]"]
                       + [f"b{n}: &b{n} [{', '.join([f'*b{n - 1}'] * 9)}]" for n in range(1, 10)]) + "\n"


def record_file(data_dir: str, reference: str = BAD) -> str:
    return record_path(data_dir, reference)


def edit_record(data_dir: str, change) -> None:
    with open(record_file(data_dir), encoding="utf-8") as handle:
        record = yaml.safe_load(handle)
    change(record)
    with open(record_file(data_dir), "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, allow_unicode=True, sort_keys=False)


def write_text(data_dir: str, relative: str, text: str) -> None:
    path = os.path.join(data_dir, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def replace_with_fifo(data_dir: str, relative: str) -> None:
    path = os.path.join(data_dir, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    os.mkfifo(path)


def thematiques_as_mappings(data_dir):
    edit_record(data_dir, lambda record: record["answers"].update(thematiques=[{"a": 1}]))


def answers_of_every_odd_type(data_dir):
    edit_record(data_dir, lambda record: record["answers"].update(
        raison_sociale=["liste"], contact_email={"a": 1}, code_postal=14000, rgpd="peut-être", description=None))


def history_event_without_at(data_dir):
    write_text(data_dir, f"reviews/{BAD}.yaml",
               f"reference: {BAD}\nstatus: recu\nevents:\n- by: alice\n  kind: note\n  note: sans date\n")


def self_referencing_alias_in_a_record(data_dir):
    with open(record_file(data_dir), encoding="utf-8") as handle:
        text = handle.read()
    text = re.sub(r"  thematiques:\n(  - .*\n)+", "  thematiques: &t [*t]\n", text)
    assert "&t [*t]" in text
    write_text(data_dir, f"submissions/{BAD}.yaml", text)


def self_referencing_alias_in_a_history(data_dir):
    write_text(data_dir, f"reviews/{BAD}.yaml", f"reference: {BAD}\nstatus: recu\nevents: &e [*e]\n")


def alias_bomb_in_a_record(data_dir):
    with open(record_file(data_dir), encoding="utf-8") as handle:
        text = handle.read()
    write_text(data_dir, f"submissions/{BAD}.yaml", ALIAS_BOMB + text)


def alias_bomb_in_a_history(data_dir):
    write_text(data_dir, f"reviews/{BAD}.yaml", ALIAS_BOMB + f"reference: {BAD}\nstatus: recu\nevents: []\n")


def fifo_as_a_record(data_dir):
    replace_with_fifo(data_dir, f"submissions/{BAD}.yaml")


def fifo_as_a_history(data_dir):
    replace_with_fifo(data_dir, f"reviews/{BAD}.yaml")


def fifo_in_the_outbox(data_dir):
    replace_with_fifo(data_dir, f"outbox/{BAD}.accuse.eml")


def control_characters_in_a_record(data_dir):
    def change(record):
        record["answers"].update(raison_sociale="Structure\x1b[2J\x1b]0;titre\x07 \u202eexe.pdf",
                                 commune="Caen\nFAUSSE LIGNE", description="Texte\x1b[31m rouge\u200b")
        record["flags"] = ["hors_normandie\x1b[2J"]
        record["derived"]["departement"]["code"] = "50\u202e"

    edit_record(data_dir, change)


HOSTILE_EDITS = [thematiques_as_mappings, answers_of_every_odd_type, history_event_without_at,
                 self_referencing_alias_in_a_record, self_referencing_alias_in_a_history, alias_bomb_in_a_record,
                 alias_bomb_in_a_history, fifo_as_a_record, fifo_as_a_history, fifo_in_the_outbox,
                 control_characters_in_a_record]


@pytest.fixture(params=HOSTILE_EDITS, ids=lambda edit: edit.__name__)
def hostile(request, data_dir, form):
    write_records(data_dir, 3, form)
    request.param(data_dir)
    return request.param.__name__


def no_raw_controls(text: str) -> None:
    assert not set(text) & {"\x1b", "\x07", "\u202e", "\u200b"}, "a hidden character reached the terminal raw"


def test_list_and_stats_name_the_bad_file_and_show_the_others(runner, hostile):
    result = runner.invoke(args=["list"])
    assert result.exit_code == 0, result.output
    assert all(reference in result.stdout for reference in GOOD)
    no_raw_controls(result.output)
    if hostile != "fifo_in_the_outbox":
        assert BAD in result.stderr or "a_verifier" in result.stdout or "[U+" in result.stdout, result.output
    assert runner.invoke(args=["stats"]).exit_code == 0


def test_show_never_dies_on_a_bad_file(runner, hostile):
    for reference in GOOD:
        result = runner.invoke(args=["show", reference])
        assert result.exit_code == 0 and reference in result.stdout, result.output
    bad = runner.invoke(args=["show", BAD])
    assert bad.exception is None or isinstance(bad.exception, SystemExit), repr(bad.exception)
    no_raw_controls(bad.output)
    if bad.exit_code:
        assert BAD in bad.output and ("illisible" in bad.output or "Aucune candidature lisible" in bad.output)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_never_dies_on_a_bad_file(runner, hostile, tmp_path, fmt):
    target = tmp_path / f"export.{fmt}"
    result = runner.invoke(args=["export", "--format", fmt, "--output", str(target)])
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        content = target.read_bytes().decode("utf-8-sig")
    else:
        sheet = load_workbook(target).active
        content = "\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
    assert all(reference in content for reference in GOOD)
    no_raw_controls(content)


def test_the_review_pages_never_answer_500_on_a_bad_file(logged_in, hostile):
    listing = logged_in.get("/instruction/")
    assert listing.status_code == 200
    assert all(reference in listing.text for reference in GOOD)
    for reference in GOOD:
        assert logged_in.get(f"/instruction/{reference}").status_code == 200
    assert logged_in.get(f"/instruction/{BAD}").status_code in (200, 404)
    no_raw_controls(logged_in.get(f"/instruction/{BAD}").text)
    for fmt in ("csv", "xlsx"):
        assert logged_in.get(f"/instruction/export.{fmt}").status_code == 200


def test_the_mail_round_sends_the_others_mails(app, data_dir, hostile):
    port = free_port()
    controller, inbox = start_smtp(port)
    try:
        settings = MailSettings(host="127.0.0.1", port=port, mail_from="AMI <ami@normandie.example>")
        reconcile(data_dir, app.config["FACTS"], app.config["FORM"], settings)
        report = deliver_outbox(data_dir, settings)
    finally:
        controller.stop()
    sent = {name.split(".")[0] for name in report.sent}
    assert set(GOOD) <= sent, report
    for item in inbox.messages:
        no_raw_controls(item.message.get_content())
    if hostile == "fifo_in_the_outbox":
        assert f"{BAD}.accuse.eml" in report.failed and f"{BAD}.accuse.eml" in pending(data_dir, "failed")


def test_a_record_edited_with_an_unexportable_character_still_exports(data_dir, form, runner, tmp_path):
    write_records(data_dir, 2, form)
    edit_record(data_dir, lambda record: record["answers"].update(raison_sociale="Structure \uffff\ufffe"))
    target = tmp_path / "export.xlsx"
    result = runner.invoke(args=["export", "--format", "xlsx", "--output", str(target)])
    assert result.exit_code == 0, result.output
    from collector.exports import FIXED_HEADERS

    structure = len(FIXED_HEADERS) + form.names.index("raison_sociale")
    names = [row[structure] for row in load_workbook(target).active.iter_rows(min_row=2, values_only=True)]
    assert "Structure [U+FFFF][U+FFFE]" in names


def test_an_xlsx_text_cell_has_no_visible_apostrophe_and_is_never_a_formula(data_dir, form, runner, tmp_path):
    write_records(data_dir, 1, form, territoire="=HYPERLINK(\"http://x\";\"clic\")", commune="+33 Caen")
    target = tmp_path / "export.xlsx"
    assert runner.invoke(args=["export", "--format", "xlsx", "--output", str(target)]).exit_code == 0
    sheet = load_workbook(target).active
    cells = {cell.value: cell.data_type for row in sheet.iter_rows(min_row=2) for cell in row}
    assert cells['=HYPERLINK("http://x";"clic")'] == "s" and cells["+33 Caen"] == "s"
    csv_target = tmp_path / "export.csv"
    assert runner.invoke(args=["export", "--output", str(csv_target)]).exit_code == 0
    assert "'=HYPERLINK" in csv_target.read_bytes().decode("utf-8-sig")


def test_the_export_route_survives_a_record_with_an_unexportable_character(logged_in, data_dir, form):
    write_records(data_dir, 2, form)
    edit_record(data_dir, lambda record: record["answers"].update(description="Texte \uffff"))
    reply = logged_in.get("/instruction/export.xlsx")
    assert reply.status_code == 200
    load_workbook(io.BytesIO(reply.data))


def test_check_names_a_record_that_holds_a_noncharacter(data_dir, form, runner):
    write_records(data_dir, 3, form)
    edit_record(data_dir, lambda record: record["answers"].update(partenaires="Partenaires \uffff"))
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    [line] = [line for line in result.stdout.splitlines() if line.startswith("INVALIDE")]
    assert BAD in line and "U+FFFF" in line and "\uffff" not in result.stdout
