"""What the proofs share: a plain HTTP client for many submissions, the records on disk,
gunicorn's worker processes, and a small tmpfs to fill up."""

from __future__ import annotations

import html
import http.client
import os
import re
import subprocess
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from collector.formdef import build_schema, load_form, ordered_answers
from collector.records import iter_record_paths, read_record
from collector.stores.base import Store
from collector.stores.folder import FolderStore
from tests.support.payloads import HONEYPOT_FIELD, post_form, request, valid_answers

PROOF_ENV = {
    "AMI_NOW": "2021-04-15T10:00:00",
    "COLLECTOR_MIN_FILL_SECONDS": "0",
    "COLLECTOR_RATE_LIMIT": "1000000/60",
    "COLLECTOR_SMTP_HOST": "",
}


def proof_env(data_dir: str, port: int) -> dict[str, str]:
    """The environment of a collector under proof: open phase, no robot delay, no rate limit."""
    return {**PROOF_ENV, "COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_PUBLIC_URL": f"http://127.0.0.1:{port}"}


# --- Submitting -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a client saw for one submission: its marker, the status (0: no answer), the reference."""

    marker: str
    status: int
    reference: str | None = None


_INPUT_TAG = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")


def quick_hidden_fields(page: str) -> dict[str, str]:
    """form_hidden_fields() by regular expressions: the same answer (a test checks it), a tenth of
    the time, so that the load's client does not starve the server of CPU."""
    found = {}
    for tag in _INPUT_TAG.findall(page):
        attributes = {name.lower(): double or single or bare
                      for name, double, single, bare in _ATTRIBUTE.findall(tag)}
        if "name" in attributes and (attributes.get("type") == "hidden" or attributes["name"] == HONEYPOT_FIELD):
            found[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return found


def submit(base_url: str, answers: dict[str, Any], marker_field: str, marker: str) -> Outcome:
    """One whole submission as a browser makes it: GET the form (fresh token and submission
    id), then POST the answers asking for a JSON reply. A transport failure counts as not
    acknowledged (status 0)."""
    try:
        page = request(base_url, "GET", "/candidater/")
        if page.status != 200:
            return Outcome(marker, 0)
        hidden = quick_hidden_fields(page.text)
        reply = post_form(base_url, {**answers, marker_field: marker}, hidden,
                          headers={"Accept": "application/json", "Origin": base_url})
    except (OSError, RuntimeError, http.client.HTTPException):
        return Outcome(marker, 0)
    reference = reply.json()["reference"] if 200 <= reply.status < 300 else None
    return Outcome(marker, reply.status, reference)


# --- Records --------------------------------------------------------------------------------


# The breaks a text pasted from a word processor carries: a line break (CR, U+000B, U+2028) or a
# page or paragraph break (U+000C, U+2029); the collector keeps them as one or two line feeds.
PASTED_BREAKS = {"\r\n": "\n", "\r": "\n", "\x0b": "\n", "\u2028": "\n", "\x0c": "\n\n", "\u2029": "\n\n"}


def expected_text(value: str, multiline: bool) -> str:
    """What the collector must keep of a text answer: NFC, pasted breaks as LF, trimmed; one line
    of text also has its runs of white space made single spaces."""
    text = re.sub("\r\n|[\r\x0b\x0c\u2028\u2029]", lambda found: PASTED_BREAKS[found.group()], value)
    text = unicodedata.normalize("NFC", text).strip()
    return text if multiline else " ".join(text.split())


def check_record(record: dict[str, Any], schema: Any, definition: Any) -> None:
    """Fail unless the record's answers validate against the form back to themselves."""
    reloaded = ordered_answers(definition, schema.load(record["answers"]))
    assert reloaded == record["answers"], f"{record['reference']}: its answers do not validate back to themselves"


def load_record(store: Store, reference: str) -> dict[str, Any]:
    """One published record, read through the store, parsed and validated against the current form."""
    definition = load_form()
    record = store.read_record(reference)
    assert record is not None and record["reference"] == reference
    check_record(record, build_schema(definition), definition)
    return record


def load_records(data_dir: str, store: Store | None = None) -> dict[str, dict[str, Any]]:
    """Every published record by reference; fails on any record that does not parse or validate.
    Read from the data folder's files, or through `store` when it keeps no such file (PostgreSQL)."""
    definition = load_form()
    schema = build_schema(definition)
    if store is not None and not isinstance(store, FolderStore):
        records = {reference: store.read_record(reference) for reference in store.references()}
        for reference, record in records.items():
            assert record is not None and record["reference"] == reference, reference
            check_record(record, schema, definition)
        return records
    records = {}
    for path in iter_record_paths(data_dir):
        record = read_record(path)
        assert os.path.basename(path) == record["reference"] + ".yaml", path
        check_record(record, schema, definition)
        records[record["reference"]] = record
    return records


def tmp_leftovers(data_dir: str) -> list[str]:
    folder = os.path.join(data_dir, "tmp")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def sample_answers() -> dict[str, Any]:
    """A valid submission from the collector's own test helper, for the current form."""
    return valid_answers(load_form())


# --- Processes ------------------------------------------------------------------------------


def worker_pids(master_pid: int) -> list[int]:
    """gunicorn's workers: the processes whose parent is the master."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master_pid:
            pids.append(int(entry))
    return pids


# --- A small disk ---------------------------------------------------------------------------


def mount_tmpfs(path: str, size: str) -> None:
    """Mount a tmpfs of `size` at `path`; PermissionError if the system refuses."""
    os.makedirs(path, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", path],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        raise PermissionError(f"mount -t tmpfs refused: {mounted.stderr.strip()}")


def unmount(path: str) -> None:
    """Unmount `path`, waiting for late closers; lazily as a last resort."""
    for _ in range(20):
        if subprocess.run(["umount", path], capture_output=True).returncode == 0:
            return
        time.sleep(0.25)
    subprocess.run(["umount", "-l", path], capture_output=True)


def fill_disk(folder: str) -> str:
    """Write one file in `folder` until the file system is full; return its path."""
    path = os.path.join(folder, "filler.bin")
    chunk = 64 * 1024
    with open(path, "wb", buffering=0) as handle:
        while chunk:
            try:
                handle.write(b"\0" * chunk)
            except OSError:
                chunk //= 2
    return path
