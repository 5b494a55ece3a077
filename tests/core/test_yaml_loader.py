"""The quicker safe loader gives exactly what PyYAML's own safe loader gives, on any document."""

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.yamlio import FastSafeLoader

LIBRARY = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def both(text):
    """(library's result, fast loader's result), an exception standing for its type."""
    results = []
    for loader in (LIBRARY, FastSafeLoader):
        try:
            results.append(repr(yaml.load(text, Loader=loader)))  # noqa: S506 - safe loaders
        except yaml.YAMLError as error:
            results.append(type(error).__name__)
    return results


LEAF = st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                 st.dates(), st.sampled_from(["yes", "~", "2021-05-28", "0o17", "<<", "=", "1_000", ".inf"]))
DATA = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), inner, max_size=4)),
    max_leaves=15)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(DATA, st.sampled_from([{}, {"default_flow_style": True}, {"default_style": "'"}]))
def test_any_dumped_data_loads_the_same(data, style):
    assert len(set(both(yaml.safe_dump(data, allow_unicode=True, **style)))) == 1


@pytest.mark.parametrize("text", [
    "<<: {a: 1}\nb: 2", "? [1]\n: x", "a: 2021-05-28", "x: !!binary aGVsbG8=", "- {1: 2}", "a: !!set {x, y}", "!!python/object:os.system x",
    "a: !!str 12", "a: b\na: c", "[a, {b: c}]", "", "--- a\n--- b", "a: [unclosed", "{1.5: x, null: y, true: z}",
])
def test_unusual_documents_load_the_same_or_fail_the_same(text):
    library, fast = both(text)
    assert fast == library


@pytest.mark.parametrize("text", [
    "&a [*a]", "&a {x: *a}", "a: &b [1, 2]\nc: *b", "base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2", "a: &s texte\nb: *s",
])
def test_a_document_with_an_alias_is_refused(text):
    with pytest.raises(yaml.constructor.ConstructorError, match="alias YAML"):
        yaml.load(text, Loader=FastSafeLoader)  # noqa: S506


def test_an_alias_bomb_is_refused_before_it_is_expanded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 12)]  # 9**12 leaves if expanded
    with pytest.raises(yaml.constructor.ConstructorError, match="alias YAML"):
        yaml.load("\n".join(lines), Loader=FastSafeLoader)  # noqa: S506


def test_records_shapes_come_back_as_plain_python_values():
    data = yaml.load("a: x\nb: [1, c]\nd: {e: 2021-05-28}\n", Loader=FastSafeLoader)  # noqa: S506
    assert data == {"a": "x", "b": [1, "c"], "d": {"e": datetime.date(2021, 5, 28)}}
