"""The reviewer who considers revoking a dossier's link sees what changed in its contact between
its last two versions (collector/review/contact_changes.py), on the detail page beside the form."""

from __future__ import annotations

import html
import re

import pytest

from collector.dossier import version_path
from tests.conftest import STORE_KINDS

from .conftest import review_post
from .test_corrections import corrected, send_correction

REFERENCE = "AMI-2021-0001"


def revocation_part(reviewer) -> str:
    """The detail page's « Lien du dossier » section, its text unescaped."""
    page = reviewer.get(f"/instruction/{REFERENCE}").text
    return html.unescape(page.partition('<h2 id="lien">')[2].partition("<form")[0])


def text_of(part: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", part).split())


def test_a_dossier_never_corrected_says_it_has_one_version(reviewer, records):
    part = revocation_part(reviewer)
    assert "Contact : ce qui a changé entre les deux dernières versions" in part
    assert "Une seule version des réponses : le contact n'a pas changé depuis l'envoi." in part
    assert "<table" not in part


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_a_contact_moved_by_a_correction_is_shown_field_by_field_with_both_versions_dates(reviewer, client, records):
    first = records[0]["answers"]
    reply = send_correction(client, corrected(records[0], contact_email="autre.personne@example.org",
                                              contact_telephone="02 31 00 00 00", projet_titre="Titre corrigé"))
    assert reply.status_code == 303
    part = revocation_part(reviewer)
    [table] = re.findall(r"<table.*?</table>", part, re.S)
    assert re.search(r"<caption>Champs du contact qui diffèrent entre la version 1, reçue le \d\d/\d\d/\d{4} \d\d:\d\d "
                     r"et la version 2, corrigée le \d\d/\d\d/\d{4} \d\d:\d\d</caption>", table), table
    assert '<th scope="col">Champ</th>' in table
    assert '<th scope="col">Avant (version 1, reçue le ' in table and '<th scope="col">Après (version 2, corrigée le ' in table
    rows = [text_of(row) for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, re.S)]
    assert rows == [f"Adresse e-mail {first['contact_email']} autre.personne@example.org",
                    f"Téléphone {first['contact_telephone']} 02 31 00 00 00"], rows
    assert "Titre corrigé" not in part, "only the contact's fields"


def test_a_correction_that_leaves_the_contact_alone_says_there_is_no_difference(reviewer, client, records):
    assert send_correction(client, corrected(records[0], projet_titre="Titre corrigé")).status_code == 303
    part = text_of(revocation_part(reviewer))
    assert re.search(r"Aucune différence dans le contact entre la version 1, reçue le \d\d/\d\d/\d{4} \d\d:\d\d et la "
                     r"version 2, corrigée le \d\d/\d\d/\d{4} \d\d:\d\d\.", part), part


def test_a_contact_a_reviewer_set_while_revoking_says_who_set_it(reviewer, client, records):
    assert review_post(reviewer, REFERENCE, "lien", nouveau_contact="vraie.contact@example.org").status_code == 303
    part = text_of(revocation_part(reviewer))
    assert "Après (version 2, contact fixé par alice le " in part
    assert f"Adresse e-mail {records[0]['answers']['contact_email']} vraie.contact@example.org" in part


@pytest.mark.parametrize("store_kind", ["folder"])  # a version file broken by a hand edit
def test_an_unreadable_version_says_to_run_check_instead_of_failing_the_page(reviewer, client, records, data_dir):
    assert send_correction(client, corrected(records[0], projet_titre="Titre corrigé")).status_code == 303
    assert send_correction(client, corrected(records[0], projet_titre="Titre corrigé deux fois")).status_code == 303
    with open(version_path(data_dir, REFERENCE, 2), "a", encoding="utf-8") as handle:  # the one before the newest
        handle.write("answers: [unclosed\n")
    part = text_of(revocation_part(reviewer))
    assert "Une version du dossier est illisible : lancez « check » pour voir ce qui a changé." in part
