"""Records: durable, readable YAML that gives back exactly what was stored."""

import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from collector.durable import replace_file, sweep_tmp, write_new_file
from collector.records import (
    RecordError, build_record, clean_text, iter_record_paths, read_record, serialise_record, write_record,
)

HOSTILE = [
    "Établissement « Gîte » à Évreux",
    "emoji 🎉🚀 and ZWJ 👩‍💻",
    "مرحبا بالعالم — שלום",
    "yes", "no", "~", "null", "true", "0o17", "1e3", "- item", "key: value", "# comment",
    "!!python/object/apply:os.system ['true']",
    "line one\nline two\n\n  indented\n",
    "trailing spaces   \nnext",
    "x" * 10_000,
]


def record(answers, reference="AMI-2021-0001"):
    return build_record(reference, datetime(2021, 4, 15, 10, tzinfo=ZoneInfo("Europe/Paris")), 1, answers)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_round_trips_exactly(data_dir, text):
    stored = record({"description": text, "thematiques": [text]})
    path = write_record(data_dir, stored)
    assert read_record(path) == stored


def test_a_record_is_readable_by_a_person(data_dir):
    path = write_record(data_dir, record({"raison_sociale": "Mairie de Caen", "description": "Un\nprojet\n"}))
    text = open(path, encoding="utf-8").read()
    assert text.startswith('reference: AMI-2021-0001\nreceived_at: "2021-04-15T10:00:00+02:00"\n')
    assert "raison_sociale: Mairie de Caen" in text
    assert "description: |\n    Un\n    projet\n" in text


def test_a_reference_is_never_overwritten(data_dir):
    write_record(data_dir, record({"a": "first"}))
    with pytest.raises(FileExistsError):
        write_record(data_dir, record({"a": "second"}))
    assert read_record(next(iter_record_paths(data_dir)))["answers"] == {"a": "first"}


def test_nothing_is_left_in_tmp_after_writes(data_dir):
    write_record(data_dir, record({"a": "b"}))
    replace_file(os.path.join(data_dir, "reviews"), "x.yaml", b"one")
    replace_file(os.path.join(data_dir, "reviews"), "x.yaml", b"two")
    assert os.listdir(os.path.join(data_dir, "tmp")) == []
    assert open(os.path.join(data_dir, "reviews", "x.yaml"), "rb").read() == b"two"


def test_sweep_removes_leftovers_of_interrupted_writes(data_dir):
    tmp = os.path.join(data_dir, "tmp")
    os.makedirs(tmp)
    open(os.path.join(tmp, "half-written"), "wb").write(b"partial")
    assert sweep_tmp(data_dir) == 1
    assert os.listdir(tmp) == []


def test_sweep_keeps_a_live_writers_file_and_removes_a_dead_writers_file(data_dir):
    import subprocess

    tmp = os.path.join(data_dir, "tmp")
    os.makedirs(tmp)
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    live = os.path.join(tmp, f"1.{os.getpid()}.abc")
    dead = os.path.join(tmp, f"1.{dead_pid.pid}.def")
    for path in (live, dead):
        open(path, "wb").write(b"partial")
    assert sweep_tmp(data_dir, older_than_seconds=3600) == 1
    assert os.listdir(tmp) == [os.path.basename(live)]


def test_sweep_ignores_a_file_published_while_it_looks(data_dir, monkeypatch):
    tmp = os.path.join(data_dir, "tmp")
    os.makedirs(tmp)
    vanishing = os.path.join(tmp, f"1.{os.getpid()}.abc")
    open(vanishing, "wb").write(b"partial")
    real_scandir = os.scandir

    def scandir_then_publish(path):
        entries = list(real_scandir(path))
        os.unlink(vanishing)  # another worker links its file into place and removes the temporary name
        return iter(entries)

    monkeypatch.setattr(os, "scandir", scandir_then_publish)
    assert sweep_tmp(data_dir, older_than_seconds=0) == 0


def test_write_new_file_refuses_an_existing_name(data_dir):
    write_new_file(data_dir + "/x", "a", b"1")
    with pytest.raises(FileExistsError):
        write_new_file(data_dir + "/x", "a", b"2")


@pytest.mark.parametrize(("text", "named"), [
    ("bell\x07", "un caractère de contrôle invisible (U+0007) après « bell »"),
    ("nul\x00", "(U+0000) après « nul »"), ("c1\x85", "(U+0085) après « c1 »"),
    ("lone\ud800", "un caractère invalide (U+D800) après « lone »"), ("\x1b[31m", "(U+001B) au début du texte"),
])
def test_control_characters_and_lone_surrogates_are_refused_by_code_point_and_place(text, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        clean_text(text)


def test_text_is_nfc_normalised_and_tabs_newlines_kept():
    assert clean_text("e\u0301te\u0301\tok\r\n") == "\u00e9t\u00e9\tok\r\n"


def test_a_record_with_unnormalised_text_is_not_serialised():
    with pytest.raises(RecordError):
        serialise_record(record({"a": "e\u0301"}))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("reference: [unclosed", "illisible"),
        ("- a list\n- not a record\n", "structure d'enregistrement incomplète"),
        ("\xff\xfe", "illisible"),
    ],
)
def test_a_broken_record_is_reported_by_name(tmp_path, content, message):
    path = tmp_path / "AMI-2021-0009.yaml"
    path.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())
    with pytest.raises(RecordError, match=f"AMI-2021-0009.yaml : {message}"):
        read_record(str(path))
