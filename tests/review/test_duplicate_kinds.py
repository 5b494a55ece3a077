"""Possible duplicates by RNA number and by structure name, beside SIRET and e-mail: the same
flags and words in the list page, the detail page, the commands and the exports, whether the
index was kept up to date record by record or rebuilt by `reindex`."""

from __future__ import annotations

import csv
import html
import io

import pytest

from collector.duplicates import find_duplicates, name_key, rna_key
from tests.conftest import STORE_KINDS

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
SAME_RNA = ("AMI-2021-0009", "AMI-2021-0010")
SAME_NAME = ("AMI-2021-0011", "AMI-2021-0012")


@pytest.mark.parametrize("one, other", [
    ("Association Les Amis du Numérique", "les amis du numerique"),
    ("ASSO Les Amis du Numérique", "Les  Amis du Numérique"),
    ("Asso. « Les Amis du numérique »", "association les amis du numérique"),
    ("Tiers-lieu d'Évreux", "TIERS LIEU D EVREUX"),
])
def test_structure_names_compare_without_case_accents_punctuation_or_an_association_prefix(one, other):
    assert name_key(one) == name_key(other) != ""


def test_different_names_and_empty_numbers_stay_apart():
    assert name_key("Les Amis du Numérique") != name_key("Les Amis du Numérique de Caen")
    assert name_key("Association") == name_key("« ASSO »") == ""  # the prefix alone names no structure
    records = [{"reference": f"R{n}", "answers": {"rna": "", "raison_sociale": "", "siret": "", "contact_email": ""}}
               for n in range(3)]
    assert find_duplicates(records) == {}


def test_the_same_rna_number_written_differently_is_a_duplicate():
    assert rna_key(" w141234567 ") == rna_key("W141234567") == "W141234567"
    records = [{"reference": "R1", "answers": {"rna": "W141234567"}},
               {"reference": "R2", "answers": {"rna": "w141234567"}}]
    assert find_duplicates(records) == {"R1": [("R2", "rna")], "R2": [("R1", "rna")]}


@pytest.fixture
def duplicated(put_records):
    """Two associations with one RNA number, two structures with one name (written differently)."""
    put_records(2, start=1)
    put_records(1, start=9)
    put_records(1, start=10, rna="W140000009")  # AMI-2021-0009's
    put_records(1, start=11, raison_sociale="Association Les Amis du Numérique")
    put_records(1, start=12, raison_sociale="les amis du numérique")


def flags_listed(runner) -> dict[str, str]:
    result = runner.invoke(args=["list"])
    assert result.exit_code == 0, result.output
    return {line.split()[0]: line for line in result.output.splitlines() if line.startswith("AMI-2021-")}


def assert_flagged_everywhere(runner, client) -> None:
    lines = flags_listed(runner)
    for reference in SAME_RNA:
        assert "RNA en double" in lines[reference] and "même nom de structure" not in lines[reference]
    for reference in SAME_NAME:
        assert "même nom de structure" in lines[reference] and "RNA en double" not in lines[reference]
    assert not any("double" in lines[reference] for reference in ("AMI-2021-0001", "AMI-2021-0002"))
    shown = runner.invoke(args=["show", "AMI-2021-0010"]).output
    assert "Doublon possible : AMI-2021-0009 (même numéro RNA)" in shown and "RNA en double" in shown
    page = html.unescape(client.get("/instruction/AMI-2021-0011").text)
    assert ">AMI-2021-0012</a> (même nom de structure)" in page
    listed = html.unescape(client.get("/instruction/?signalement=doublon_rna").text)
    assert all(reference in listed for reference in SAME_RNA) and "AMI-2021-0011" not in listed
    listed = html.unescape(client.get("/instruction/?signalement=doublon_nom").text)
    assert all(reference in listed for reference in SAME_NAME) and "AMI-2021-0009" not in listed
    rows = {row["Référence"]: row for row in csv.DictReader(
        io.StringIO(client.get("/instruction/export.csv").get_data(as_text=True).lstrip("\ufeff")), delimiter=";")}
    assert rows["AMI-2021-0012"]["Doublons"] == "AMI-2021-0011 (même nom de structure)"
    assert rows["AMI-2021-0009"]["Doublons"] == "AMI-2021-0010 (même numéro RNA)"
    assert "RNA en double" in rows["AMI-2021-0009"]["Signalements"]


@ON_BOTH_STORES
def test_rna_and_name_duplicates_are_flagged_alike_before_and_after_a_reindex(runner, logged_in, duplicated):
    assert_flagged_everywhere(runner, logged_in)
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert_flagged_everywhere(runner, logged_in)


@ON_BOTH_STORES
def test_a_record_added_after_the_index_was_built_is_compared_at_once(runner, logged_in, put_records):
    put_records(1, start=11, raison_sociale="Association Les Amis du Numérique")
    alone = flags_listed(runner)["AMI-2021-0011"]
    assert "double" not in alone and "même" not in alone
    put_records(1, start=12, raison_sociale="les amis du numérique")
    lines = flags_listed(runner)
    assert all("même nom de structure" in lines[reference] for reference in SAME_NAME)
