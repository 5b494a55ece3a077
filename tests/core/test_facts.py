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


def test_the_opening_and_deadline_steps_take_date_and_wording_from_opens_at_and_closes_at(tmp_path, facts_text):
    moved = tmp_path / "ami.yaml"
    moved.write_text(facts_text.replace("closes_at: 2021-05-28T23:59:59", "closes_at: 2021-06-04T18:00:00")
                     .replace("opens_at: 2021-03-29T00:00:00", "opens_at: 2021-03-30T09:30:00"), encoding="utf-8")
    steps = {step["id"]: step for step in load_facts(str(moved))["calendar"]["steps"]}
    assert (steps["date-limite"]["start"].isoformat(), steps["date-limite"]["display"]) == (
        "2021-06-04", "vendredi 4 juin 2021 à 18 h 00 (heure de Paris)")
    assert (steps["lancement"]["start"].isoformat(), steps["lancement"]["display"]) == (
        "2021-03-30", "mardi 30 mars 2021 à 9 h 30 (heure de Paris)")


def test_unconfirmed_facts_are_listed():
    assert "legal.dpo" in unconfirmed_facts(load_facts())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("start: 2021-06-01", "start: 2021-02-30"),
         "calendar.steps[analyse].start : « 2021-02-30 » : le 30 février 2021 n'existe pas (février 2021 compte 28 jours)."),
        (("end: 2021-06-30", "end: 2021-06-31"),
         "calendar.steps[analyse].end : « 2021-06-31 » : le 31 juin 2021 n'existe pas (juin 2021 compte 30 jours)."),
        (("closes_at: 2021-05-28T23:59:59", "closes_at: 2021-05-28T24:00:00"),
         "calendar.closes_at : « 2021-05-28T24:00:00 » : l'heure 24:00:00 n'existe pas"),
        (("display: début juillet 2021", "display: vendredi 1er juillet 2021"),
         "calendar.steps[retour].display : « vendredi 1er juillet 2021 » : le 1er juillet 2021 est un jeudi, pas un vendredi."),
        (("display: début juillet 2021", "display: mardi 13 juillet 2021"),
         "calendar.steps[retour].display : « mardi 13 juillet 2021 » ne correspond pas à la date de l'étape"),
        (("      moment: closes_at\n", "      moment: closes_at\n      start: 2021-05-27\n"),
         "calendar.steps[date-limite].start : 2021-05-27 ne correspond pas à calendar.closes_at (2021-05-28)"),
        (("      moment: closes_at\n", "      moment: closes_at\n      display: jeudi 27 mai 2021 à minuit\n"),
         "calendar.steps[date-limite].display : « jeudi 27 mai 2021 à minuit » ne correspond pas à calendar.closes_at "
         "(« vendredi 28 mai 2021 à 23 h 59 (heure de Paris) »)"),
        (("      moment: closes_at\n", "      start: 2021-05-28\n"),
         "calendar.steps.moment : aucune étape ne porte « moment: closes_at »"),
        (("id: retour", "id: analyse"), "calendar.steps : identifiant d'étape en double : analyse."),
        (("status: non conforme", "status: partiellement conforme"),
         "legal.accessibility.status : « partiellement conforme » suppose un audit RGAA : indiquez sa date (audited_on)"),
        (("  edition: 2021", "  edition: 2021\n  editon: 3"), "call.editon : clé inconnue"),
        (("  opens_at: 2021-03-29T00:00:00\n", ""), "calendar.opens_at : champ obligatoire manquant"),
        (("closes_at: 2021-05-28T23:59:59", "closes_at: 2021-03-01T00:00:00"), "calendar.closes_at : la clôture doit suivre"),
        (("phone: 02 14 47 62 22", "phone: '12'"), "contacts.people[Anne Houlette].phone : numéro de téléphone"),
        (("phone: 02 14 47 62 22", "phone: 12"), "contacts.people[Anne Houlette].phone : texte attendu"),
        (("retention_months: 36", "retention_months: trois ans"), "legal.retention_months : nombre entier attendu"),
        (("    # The law (LCEN, article 6-III-1) asks for the host's name, address and telephone number.\n"
          "    phone: 02 31 06 98 98\n", ""), "legal.host.phone : champ obligatoire manquant"),
        (("  - legal.dpo\n", "  - legal.dop\n"), "« legal.dop » ne désigne aucun fait"),
        (("people:\n", "people: [\n"), "YAML invalide"),
        (("  edition: 2021", "  edition: 2021 : la deuxième"),
         "(ligne 12, colonne 17) : YAML invalide : deux-points inattendu : une valeur qui contient « : » s'écrit entre guillemets."),
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
