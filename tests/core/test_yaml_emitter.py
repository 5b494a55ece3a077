"""The records' YAML writer: whatever it writes, PyYAML reads back exactly, in a readable style."""

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.records import serialise_record
from collector.yaml_emitter import UnsupportedShape, dump_block_yaml

LOADERS = [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)]
# Any Unicode text but lone surrogates (which no UTF-8 file can hold).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
TRICKY = st.sampled_from([
    "yes", "No", "ON", "~", "null", "", " ", "true", "0o17", "0x1F", "1e3", "1_000", ".inf", "-.5", "12:30:00",
    "2021-05-28", "2021-05-28 23:59:00", "<<", "=", "- item", "? q", ": c", "key: value", "a #b", "a#b", "#", "-",
    "!tag", "&anchor", "*alias", "|", ">", "%", "@", "`", "'", '"', "[1]", "{a: 1}", "a,b", "---", "...",
    "\n", "a\n", "a\n\n", "\na", " a", "a ", "a\n b", "a \nb", "a\tb", "\t", "é\u2028è", "x\x85y", "\ufeff",
    "\uffff", "\x7f", "\x00", "🎉", "مرحبا", "l'été",
])
SCALAR = st.one_of(TEXT, TRICKY, st.booleans(), st.integers(), st.none())
KEY = st.one_of(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), TRICKY)
VALUE = st.recursive(
    st.one_of(SCALAR, st.lists(st.one_of(TEXT, TRICKY), max_size=4)),
    lambda inner: st.dictionaries(KEY, inner, max_size=4), max_leaves=12)
DOCUMENT = st.dictionaries(KEY, VALUE, min_size=1, max_size=8)


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(DOCUMENT)
def test_every_document_reads_back_exactly_with_both_pyyaml_loaders(document):
    text = dump_block_yaml(document)
    for loader in LOADERS:
        assert yaml.load(text, Loader=loader) == document  # noqa: S506 - safe loaders


def test_a_record_looks_like_what_a_person_would_write():
    text = dump_block_yaml({
        "reference": "AMI-2021-0042",
        "received_at": "2021-04-15T10:00:00+02:00",
        "form_version": 1,
        "flags": [],
        "derived": {"departement": {"code": "14", "name": "Calvados"}},
        "answers": {"commune": "Évreux", "description": "Un projet.\nSur deux lignes.", "thematiques": ["fablab"],
                    "rencontre": "yes", "rgpd": True, "vide": ""},
    })
    assert text == (
        "reference: AMI-2021-0042\n"
        'received_at: "2021-04-15T10:00:00+02:00"\n'
        "form_version: 1\n"
        "flags: []\n"
        "derived:\n"
        "  departement:\n"
        '    code: "14"\n'
        "    name: Calvados\n"
        "answers:\n"
        "  commune: Évreux\n"
        "  description: |-\n"
        "    Un projet.\n"
        "    Sur deux lignes.\n"
        "  thematiques:\n"
        "  - fablab\n"
        '  rencontre: "yes"\n'
        "  rgpd: true\n"
        '  vide: ""\n'
    )


@pytest.mark.parametrize("shape", [{"a": 1.5}, {"a": [["nested"]]}, {"a": [{"b": "c"}]}, {1: "a"}, {}, ["a"]])
def test_shapes_it_does_not_cover_are_refused(shape):
    with pytest.raises(UnsupportedShape):
        dump_block_yaml(shape)


def test_a_record_with_such_a_shape_is_still_written_by_the_library():
    record = {"reference": "AMI-2021-0001", "answers": {"score": 2.5}}
    assert yaml.safe_load(serialise_record(record)) == record
