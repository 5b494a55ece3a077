"""The form definition drives the schema; every validator answers in French and says how to fix."""

from __future__ import annotations

import os

import pytest
import yaml
from marshmallow import ValidationError

from collector.formdef import DEFAULT_FORM_PATH, FormDefinitionError, load_form
from tests.support.payloads import valid_answers

FORM = load_form(DEFAULT_FORM_PATH)
SCHEMA = FORM.build_schema()


def errors_for(**changes):
    answers = {**valid_answers(FORM), **changes}
    answers = {key: value for key, value in answers.items() if value is not None}
    try:
        SCHEMA.load(answers)
    except ValidationError as error:
        return {key: value[0] for key, value in error.messages.items()}
    return {}


def test_the_definition_lists_the_seed_questions_in_order():
    assert FORM.names[:4] == ("raison_sociale", "type_structure", "siret", "rna")
    assert {"thematiques", "maturite", "attentes", "rencontre", "rgpd"} <= set(FORM.names)
    assert FORM.choice_label("thematiques", "fablab") == "FabLab"
    assert FORM.field("thematiques").multiple and not FORM.field("maturite").multiple
    assert FORM.field("contact_email").autocomplete == "email"


def test_every_field_belongs_to_a_fieldset_with_a_legend():
    grouped = [item.name for group in FORM.groups for item in group.fields]
    assert sorted(grouped) == sorted(FORM.names)
    assert all(group.legend for group in FORM.groups)


def test_a_valid_submission_loads_into_normalised_answers():
    loaded = SCHEMA.load(valid_answers(FORM))
    assert loaded["siret"] == "73282932000074"
    assert loaded["contact_telephone"] == "02 31 90 17 26"
    assert loaded["rgpd"] is True
    assert loaded["thematiques"] == ["tiers_lieu_numerique", "inclusion_numerique", "autre"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("raison_sociale", None, "Indiquez la raison sociale de votre structure."),
    ("raison_sociale", "   ", "Indiquez la raison sociale de votre structure."),
    ("raison_sociale", "x" * 201, "« Raison sociale » compte 200 caractères au plus ; votre réponse en compte 201 : raccourcissez-la."),
    ("siret", "123", "Le numéro SIRET compte 14 chiffres : vérifiez votre saisie."),
    ("siret", "73282932000075", "Ce numéro SIRET n'existe pas (sa clé de contrôle est fausse) : vérifiez chaque chiffre sur un document officiel de votre structure."),
    ("siret", "", "Indiquez le numéro SIRET de votre structure (14 chiffres)."),
    ("contact_email", "camille@", "Saisissez une adresse e-mail valide, de la forme nom@structure.fr."),
    ("contact_email", "camille lefevre@example.org", "Saisissez une adresse e-mail valide, de la forme nom@structure.fr."),
    ("contact_telephone", "12", "Saisissez un numéro de téléphone valide, par exemple 02 31 06 98 98 ou +33 2 31 06 98 98."),
    ("contact_telephone", "01 00 00 00 0", "Saisissez un numéro de téléphone valide, par exemple 02 31 06 98 98 ou +33 2 31 06 98 98."),
    ("code_postal", "1400", "Saisissez un code postal français de 5 chiffres, par exemple 14000."),
    ("code_postal", "ABCDE", "Saisissez un code postal français de 5 chiffres, par exemple 14000."),
    ("type_structure", "particulier", "Choisissez l'une des réponses proposées pour « Type de structure »."),
    ("thematiques", ["fablab", "piscine"], "Cochez uniquement des réponses proposées pour « Thématiques du projet »."),
    ("thematiques", [], "Cochez au moins une thématique."),
    ("thematique_autre", "", "Vous avez coché « Autre » : précisez la thématique."),
    ("description", "Trop court", "« Description du projet ou de l'intention » compte au moins 20 caractères : complétez votre réponse."),
    ("maturite", ["idee", "emergence"], "Une seule réponse est attendue pour ce champ : n'en envoyez qu'une."),
    ("rgpd", "non", "Cochez la case pour confirmer avoir pris connaissance de la notice sur les données personnelles."),
    ("rgpd", None, "Cochez la case pour confirmer avoir pris connaissance de la notice sur les données personnelles."),
    ("projet_titre", "Titre\x00caché", "« Titre du projet » contient un caractère de contrôle invisible (U+0000) après "
                                       "« Titre » : retirez-le, par exemple en retapant ce passage au clavier."),
    ("projet_titre", 42, "Ce champ attend du texte."),
])
def test_each_bad_answer_gets_its_french_message(field, value, message):
    assert errors_for(**{field: value})[field] == message


@pytest.mark.parametrize(("pasted", "kept"), [
    ("\x0b", "\n"),  # a manual line break from a word processor (Maj+Entrée)
    ("\u2028", "\n"),  # the Unicode line separator
    ("\x0c", "\n\n"),  # a page break
    ("\u2029", "\n\n"),  # the Unicode paragraph separator
])
def test_breaks_pasted_from_a_word_processor_become_line_breaks_of_a_paragraph(pasted, kept):
    description = "Premier paragraphe du projet." + pasted + "Second paragraphe, collé depuis un traitement de texte."
    loaded = SCHEMA.load({**valid_answers(FORM), "description": description})
    assert loaded["description"] == description.replace(pasted, kept)


def test_a_character_still_refused_in_a_long_paragraph_is_named_with_where_it_is():
    description = "Un long texte collé. " * 40 + "Juste avant\x07 le caractère."
    assert errors_for(description=description)["description"] == (
        "« Description du projet ou de l'intention » contient un caractère de contrôle invisible (U+0007) "
        "après « …e collé. Juste avant » : retirez-le, par exemple en retapant ce passage au clavier.")


def test_an_association_without_siret_gives_its_rna():
    base = {"type_structure": "association", "siret": ""}
    assert errors_for(**base, rna="")["rna"].startswith("Indiquez le numéro RNA de votre association")
    assert errors_for(**base, rna="141234567")["rna"] == "Le numéro RNA s'écrit W suivi de 9 chiffres, par exemple W141234567."
    assert errors_for(**base, rna="w14 123 4567") == {}
    assert SCHEMA.load({**valid_answers(FORM), **base, "rna": "w141234567"})["rna"] == "W141234567"


@pytest.mark.parametrize(("value", "stored"), [
    ("+33 2 31 06 98 98", "02 31 06 98 98"), ("0231069898", "02 31 06 98 98"), ("+32 2 555 12 12", "+32 2 555 12 12"),
])
def test_phone_numbers_are_stored_in_a_readable_form(value, stored):
    assert SCHEMA.load({**valid_answers(FORM), "contact_telephone": value})["contact_telephone"] == stored


def test_a_field_the_form_does_not_have_is_refused():
    with pytest.raises(ValidationError) as caught:
        SCHEMA.load({**valid_answers(FORM), "cheval": "de Troie"})
    assert caught.value.messages["cheval"] == ["Ce champ ne fait pas partie du formulaire."]


def write_copy(tmp_path, change) -> str:
    with open(DEFAULT_FORM_PATH, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    change(data)
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["fields"][0].update(type="couleur"), "fields.0 (raison_sociale).type : type inconnu"),
    (lambda d: d["fields"][1].pop("choices"), "fields.1 (type_structure).choices : ce type de question demande une liste « choices »."),
    (lambda d: d["fields"][0].update(group="nulle_part"), "fields.raison_sociale.group : groupe « nulle_part » inconnu."),
    (lambda d: d["fields"][1].update(name="raison_sociale"), "fields.raison_sociale : ce nom est déjà pris"),
    (lambda d: d["fields"][2]["required_when"][0].update(field="fantome"), "fields.siret.required_when : question « fantome » inconnue."),
    (lambda d: d.pop("version"), "version : champ obligatoire manquant."),
])
def test_a_broken_definition_is_refused_naming_file_and_field(tmp_path, change, message):
    path = write_copy(tmp_path, change)
    with pytest.raises(FormDefinitionError) as caught:
        load_form(path)
    assert str(caught.value).startswith(path)
    assert message in str(caught.value)


def test_the_form_path_can_come_from_the_environment(tmp_path, monkeypatch):
    path = write_copy(tmp_path, lambda d: d.update(title="Autre titre"))
    monkeypatch.setenv("COLLECTOR_FORM_PATH", path)
    assert load_form().title == "Autre titre"
    assert os.environ["COLLECTOR_FORM_PATH"] == path
