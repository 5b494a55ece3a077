"""collector/porteur/links.py keeps its promises: a link's key never changes (links already sent keep
working), only the dossier's own key opens it, and the path and the e-mailed URL are exact."""

from __future__ import annotations

import pytest

from collector.porteur.links import dossier_key, dossier_path, dossier_url, key_generation, key_is_valid

SECRET = "clé de test"
REFERENCE = "AMI-2021-0001"
# The key the first version of the receipt signed for this secret and reference: a link
# already e-mailed to a porteur must keep opening the dossier.
KEY = "QV8AWCFBcmvdRUTvlnEVj7IRAVI"


def test_the_key_of_a_dossier_is_the_one_links_already_sent_carry():
    assert dossier_key(SECRET, REFERENCE) == KEY


def test_the_dossiers_own_key_opens_it():
    assert key_is_valid(SECRET, REFERENCE, KEY) is True


@pytest.mark.parametrize("key", [
    None, "", KEY[:-1], KEY + "A", KEY.lower(), "A" + KEY[1:],
    dossier_key(SECRET, "AMI-2021-0002"),  # another dossier's key
    dossier_key("un autre secret", REFERENCE),  # the key of another installation
    "clé-accentuée",  # not ASCII: refused, not an error
])
def test_any_other_key_is_refused_without_an_error(key):
    assert key_is_valid(SECRET, REFERENCE, key) is False


def test_the_dossier_path_carries_its_key():
    assert dossier_path(SECRET, REFERENCE) == f"/candidater/recu/{REFERENCE}?cle={KEY}"


def test_a_sub_page_is_a_segment_after_the_reference():
    assert dossier_path(SECRET, REFERENCE, "corriger") == f"/candidater/recu/{REFERENCE}/corriger?cle={KEY}"


@pytest.mark.parametrize("public_url", ["https://ami.example", "https://ami.example/", "https://ami.example//"])
def test_the_emailed_url_joins_the_public_address_and_the_path_with_one_slash(public_url):
    assert dossier_url(public_url, SECRET, REFERENCE) == f"https://ami.example/candidater/recu/{REFERENCE}?cle={KEY}"



def test_generation_zero_is_the_historic_key_and_each_later_generation_has_its_own():
    keys = [dossier_key(SECRET, REFERENCE, generation) for generation in range(4)]
    assert keys[0] == KEY and len(set(keys)) == 4
    assert dossier_key(SECRET, REFERENCE, 2) == "2." + dossier_key(SECRET, f"{REFERENCE}.2"), "it signs `<REF>.<N>`"


@pytest.mark.parametrize("generation", [1, 2, 7, 1000])  # 1000: beyond the small integers CPython shares
def test_only_the_current_generations_key_opens_the_dossier(generation):
    current = dossier_key(SECRET, REFERENCE, generation)
    assert key_is_valid(SECRET, REFERENCE, current, generation) is True
    assert key_is_valid(SECRET, REFERENCE, KEY, generation) is False, "the first link is revoked"
    assert key_is_valid(SECRET, REFERENCE, dossier_key(SECRET, REFERENCE, generation - 1), generation) is False
    assert key_is_valid(SECRET, REFERENCE, current, generation + 1) is False
    assert key_is_valid(SECRET, REFERENCE, current) is False


def test_the_path_and_the_url_carry_the_generations_key():
    key = dossier_key(SECRET, REFERENCE, 3)
    assert dossier_path(SECRET, REFERENCE, "corriger", 3) == f"/candidater/recu/{REFERENCE}/corriger?cle={key}"
    assert dossier_url("https://ami.example/", SECRET, REFERENCE, 3) == \
        f"https://ami.example/candidater/recu/{REFERENCE}?cle={key}"


def test_a_genuine_key_says_its_generation_and_any_other_key_none():
    assert key_generation(SECRET, REFERENCE, KEY) == 0
    assert key_generation(SECRET, REFERENCE, dossier_key(SECRET, REFERENCE, 12)) == 12
    signature = dossier_key(SECRET, REFERENCE, 3).partition(".")[2]
    for forged in (f"4.{signature}", f"03.{signature}", f"-3.{signature}", f"3.{signature}A", f"3.{signature[:-1]}",
                   f"3..{signature}", f"3.{KEY}", f"0.{KEY}", "3.", ".", None, "", "clé-accentuée", "3.é"):
        assert key_generation(SECRET, REFERENCE, forged) is None, forged
    assert key_generation(SECRET, "AMI-2021-0002", dossier_key(SECRET, REFERENCE, 3)) is None
