"""Look-alike characters in a contact e-mail do not hide a duplicate (NFKC, then case folded)."""

from __future__ import annotations

import pytest

from collector.statuses import find_duplicates


@pytest.mark.parametrize("look_alike", [
    "ｃontact@exemple.fr",        # fullwidth c
    "CONTACT@EXEMPLE.FR",
    "contact@ｅxemple.fr",        # fullwidth e in the domain
])
def test_a_look_alike_address_is_flagged_as_a_duplicate(look_alike):
    records = [{"reference": "R1", "answers": {"siret": "", "contact_email": "contact@exemple.fr"}},
               {"reference": "R2", "answers": {"siret": "", "contact_email": look_alike}}]
    assert find_duplicates(records) == {"R1": [("R2", "email")], "R2": [("R1", "email")]}


def test_compatibility_ligatures_compare_as_their_letters():
    records = [{"reference": "R1", "answers": {"contact_email": "ﬁnance@exemple.fr"}},
               {"reference": "R2", "answers": {"contact_email": "FINANCE@exemple.fr"}}]
    assert find_duplicates(records) == {"R1": [("R2", "email")], "R2": [("R1", "email")]}


def test_different_addresses_stay_apart():
    records = [{"reference": "R1", "answers": {"contact_email": "contact@exemple.fr"}},
               {"reference": "R2", "answers": {"contact_email": "contact2@exemple.fr"}}]
    assert find_duplicates(records) == {}
