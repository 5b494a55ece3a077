"""The facts file: read once, checked field by field, with French messages naming file and field."""

import pytest

from collector.facts import DEFAULT_FACTS_PATH, FactsError, load_facts, unconfirmed_facts


@pytest.fixture
def facts_text():
    with open(DEFAULT_FACTS_PATH, encoding="utf-8") as handle:
        return handle.read()


def test_the_real_facts_file_loads_with_the_seed_contacts():
    facts = load_facts()
    people = {person["name"]: person for person in facts["contacts"]["people"]}
    assert people["Anne Houlette"]["phone_href"] == "tel:+33214476222"
    assert people["Claire-Marie Cavaco"]["email_href"] == "mailto:claire-marie.cavaco@normandie.fr"
    assert facts["calendar"]["closes_at"].isoformat() == "2021-05-28T23:59:59+02:00"


def test_unconfirmed_facts_are_listed():
    assert "legal.dpo" in unconfirmed_facts(load_facts())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("start: 2021-06-01", "start: 2021-02-30"), "calendar.steps.2.start : date impossible"),
        (("  edition: 2021", "  edition: 2021\n  editon: 3"), "call.editon : clé inconnue"),
        (("  opens_at: 2021-03-29T00:00:00\n", ""), "calendar.opens_at : champ obligatoire manquant"),
        (("closes_at: 2021-05-28T23:59:59", "closes_at: 2021-03-01T00:00:00"), "calendar.closes_at : la clôture doit suivre"),
        (("phone: 02 14 47 62 22", "phone: '12'"), "contacts.people.0.phone : numéro de téléphone"),
        (("phone: 02 14 47 62 22", "phone: 12"), "contacts.people.0.phone : texte attendu"),
        (("retention_months: 36", "retention_months: trois ans"), "legal.retention_months : nombre entier attendu"),
        (("  - legal.dpo\n", "  - legal.dop\n"), "« legal.dop » ne désigne aucun fait"),
        (("people:\n", "people: [\n"), "YAML invalide"),
    ],
)
def test_a_bad_facts_file_is_refused_with_file_and_field(tmp_path, facts_text, change, message):
    old, new = change
    assert old in facts_text
    bad = tmp_path / "ami.yaml"
    bad.write_text(facts_text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(FactsError) as caught:
        load_facts(str(bad))
    assert str(caught.value).startswith(str(bad))
    assert message in str(caught.value)
