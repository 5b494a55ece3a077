"""collector/validation.py keeps its promises: exact values kept, French messages, optional stays optional."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from collector import validation
from collector.formdef import Condition, FieldDef
from tests.support.payloads import encode_form, valid_answers

from .conftest import fresh_hidden

CHOICES = (("a", "A"), ("b", "B"), ("c", "C"))
WHEN_ASSOCIATION = (Condition(field="type_structure", within=("association",)),)


def field(kind: str, **options) -> FieldDef:
    return FieldDef(name="q", label="Question", type=kind, group="g",
                    required_message="Répondez à la question.", **options)


def load(definition: FieldDef, payload: dict):
    schema = Schema.from_dict({"q": validation.FIELD_CLASSES[definition.type](definition)})()
    return schema.load(payload)


def parse(definition: FieldDef, value):
    return load(definition, {"q": value})["q"]


def refusal(definition: FieldDef, value) -> str:
    with pytest.raises(ValidationError) as error:
        load(definition, {"q": value})
    return error.value.messages["q"][0]


# --- phones ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sent, kept", [
    ("02 31 06 98 98", "02 31 06 98 98"),
    ("+33 2 31 06 98 98", "02 31 06 98 98"),
    ("0231069898", "02 31 06 98 98"),
    ("+44 20 7946 0958", "+44 20 7946 0958"),   # foreign numbers keep their country code
    ("+32 2 555 12 12", "+32 2 555 12 12"),
    ("+1 650 253 0000", "+1 650-253-0000"),
    ("+262 262 12 34 56", "+262 262 12 34 56"),
])
def test_phone_numbers_are_kept_french_style_in_france_and_international_elsewhere(sent, kept):
    assert parse(field("tel"), sent) == kept


@pytest.mark.parametrize("sent", ["abc", "+", "02 31", "00 00 00 00 00"])
def test_a_bad_phone_number_gets_a_french_message_with_an_example(sent):
    assert refusal(field("tel"), sent) == (
        "Saisissez un numéro de téléphone valide, par exemple 02 31 06 98 98 ou +33 2 31 06 98 98.")


# --- checkboxes, choices ------------------------------------------------------------------

@pytest.mark.parametrize("sent, kept", [
    ("oui", True), ("ON", True), (" true ", True), ("1", True), ("yes", True), (True, True),
    ("non", False), ("off", False), ("false", False), ("0", False), ("no", False), ("", False), (False, False),
])
def test_a_checkbox_reads_the_usual_words(sent, kept):
    assert parse(field("checkbox"), sent) is kept


@pytest.mark.parametrize("sent", ["peut-être", 2, None, {"x": 1}])
def test_an_unknown_checkbox_value_gets_a_french_message(sent):
    expected = "Cochez ou décochez la case « Question »." if sent is not None else "Répondez à la question."
    assert refusal(field("checkbox"), sent) == expected


def test_a_required_checkbox_must_be_ticked():
    assert refusal(field("checkbox", required=True), "non") == "Répondez à la question."
    assert parse(field("checkbox", required=True), "oui") is True


def test_a_single_value_question_refuses_several_values():
    for kind in ("checkbox", "radio", "text"):
        definition = field(kind, choices=CHOICES)
        assert refusal(definition, ["a", "b"]) == validation.ONE_VALUE


def test_choices_accept_only_their_values():
    assert parse(field("radio", choices=CHOICES), "b") == "b"
    assert refusal(field("select", choices=CHOICES), "z") == "Choisissez l'une des réponses proposées pour « Question »."
    assert refusal(field("select", choices=CHOICES), 3) == "Choisissez l'une des réponses proposées pour « Question »."


def test_checkboxes_keep_the_forms_order_and_refuse_unknown_values():
    definition = field("checkboxes", choices=CHOICES)
    assert parse(definition, ["c", "a", "c"]) == ["a", "c"]
    assert parse(definition, "b") == ["b"]
    message = "Cochez uniquement des réponses proposées pour « Question »."
    assert refusal(definition, ["a", "z"]) == message
    assert refusal(definition, ["a", 3]) == message


def test_required_checkboxes_need_one_box_but_conditional_ones_do_not():
    assert refusal(field("checkboxes", choices=CHOICES, required=True), []) == "Répondez à la question."
    conditional = field("checkboxes", choices=CHOICES, required=True, required_when=WHEN_ASSOCIATION)
    assert parse(conditional, []) == []


# --- optional questions stay optional --------------------------------------------------------

@pytest.mark.parametrize("kind, empty", [("text", ""), ("tel", ""), ("checkboxes", []), ("checkbox", False),
                                         ("radio", "")])
def test_an_optional_question_left_out_gets_its_empty_value(kind, empty):
    assert load(field(kind, choices=CHOICES), {}) == {"q": empty}


def test_a_conditionally_required_question_is_optional_for_the_field_itself():
    assert load(field("siret", required=True, required_when=WHEN_ASSOCIATION), {}) == {"q": ""}


def test_a_required_question_left_out_gets_its_message():
    with pytest.raises(ValidationError) as error:
        load(field("text", required=True), {})
    assert error.value.messages == {"q": ["Répondez à la question."]}
    with pytest.raises(ValidationError) as error:
        load(field("text", required=True), {"q": None})
    assert error.value.messages == {"q": ["Répondez à la question."]}


def test_empty_lists_are_fresh_for_every_load():
    definition = field("checkboxes", choices=CHOICES)
    first = load(definition, {})["q"]
    first.append("a")
    assert load(definition, {})["q"] == []


# --- text -------------------------------------------------------------------------------

def test_text_is_trimmed_and_its_spaces_collapsed_but_a_paragraph_keeps_its_lines():
    assert parse(field("text"), "  Tiers-lieu \t  de\nFalaise  ") == "Tiers-lieu de Falaise"
    assert parse(field("textarea"), "  Ligne 1\r\nLigne 2\rLigne 3  ") == "Ligne 1\nLigne 2\nLigne 3"


def test_text_must_be_text():
    assert refusal(field("text"), 42) == validation.NOT_TEXT


def test_control_characters_are_refused_with_the_label():
    assert refusal(field("text"), "a\x00b") == ("« Question » contient un caractère de contrôle invisible (U+0000) "
                                                "après « a » : retirez-le, par exemple en retapant ce passage au clavier.")


def test_lengths_are_checked_at_their_exact_limits():
    definition = field("text", min_length=3, max_length=5)
    assert parse(definition, "abc") == "abc"
    assert parse(definition, "abcde") == "abcde"
    assert refusal(definition, "ab") == "« Question » compte au moins 3 caractères : complétez votre réponse."
    assert refusal(definition, "abcdef") == ("« Question » compte 5 caractères au plus ; "
                                             "votre réponse en compte 6 : raccourcissez-la.")


def test_e_mail_addresses_are_normalised_or_refused():
    assert parse(field("email"), " Camille@Example.ORG ") == "Camille@example.org"
    assert refusal(field("email"), "camille@") == "Saisissez une adresse e-mail valide, de la forme nom@structure.fr."


def test_postcodes_siret_and_rna_are_compacted_or_refused():
    assert parse(field("postcode"), "14 000") == "14000"
    assert parse(field("postcode"), "97-400") == "97400"
    for bad in ("1400", "140000", "00100", "ABCDE"):
        assert refusal(field("postcode"), bad) == "Saisissez un code postal français de 5 chiffres, par exemple 14000."
    assert parse(field("siret"), "732 829 320 00074") == "73282932000074"
    for bad in ("7328293200007", "7328293200007A"):
        assert refusal(field("siret"), bad) == "Le numéro SIRET compte 14 chiffres : vérifiez votre saisie."
    assert refusal(field("siret"), "73282932000075").startswith("Ce numéro SIRET n'existe pas")
    assert parse(field("rna"), "w 141.234-567") == "W141234567"
    assert refusal(field("rna"), "W14123456") == "Le numéro RNA s'écrit W suivi de 9 chiffres, par exemple W141234567."


# --- derived facts --------------------------------------------------------------------------

@pytest.mark.parametrize("value, empty", [(None, True), (False, True), ("", True), ("  ", True), ([], True),
                                          ("x", False), (["a"], False), (True, False), (0, False)])
def test_blank_answers_are_told_apart(value, empty):
    assert validation.is_empty(value) is empty


def test_derive_names_the_departement_and_flags_outside_normandie():
    assert validation.derive({"cp": "14000"}, "cp") == ([], {"departement": {"code": "14", "name": "Calvados"}})
    flags, derived = validation.derive({"cp": "75001"}, "cp")
    assert flags == [validation.FLAG_OUTSIDE] and derived["departement"]["code"] == "75"
    assert validation.derive({"cp": "14000"}, None) == ([], {})
    assert validation.derive({"cp": ""}, "cp") == ([], {})
    assert validation.derive({"cp": "00000"}, "cp") == ([], {})
    assert validation.derive({}, "cp") == ([], {})


def test_the_base_answer_class_leaves_parsing_to_each_kind():
    with pytest.raises(NotImplementedError):
        validation.Answer(field("text")).parse("x")


# --- through the collector: a French 422, never a 500 ------------------------------------

@pytest.mark.parametrize("name, value, message", [
    ("contact_telephone", "pas un numéro", "Saisissez un numéro de téléphone valide"),
    ("rgpd", "peut-être", "Cochez ou décochez la case"),
])
def test_a_bad_phone_or_checkbox_value_is_a_french_422(client, form, name, value, message):
    answers = {**valid_answers(form), name: value}
    reply = client.post("/candidater/", data=encode_form(answers, fresh_hidden(client)),
                        content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)


# --- invisible characters on one line ---------------------------------------------------------

@pytest.mark.parametrize("kind", ["text", "email", "siret"])
@pytest.mark.parametrize("char, named", [("\u202e", "un caractère de contrôle du sens d'écriture"),
                                         ("\u200b", "un caractère invisible (sans largeur)")])
def test_a_one_line_answer_with_an_invisible_character_is_refused_saying_which(kind, char, named):
    assert refusal(field(kind), f"Abc{char}def") == (
        f"« Question » contient {named} ({'U+%04X' % ord(char)}), "
        "souvent apporté par un copier-coller : retapez cette réponse au clavier.")


def test_a_paragraph_may_hold_a_direction_mark():
    assert parse(field("textarea"), "Texte en arabe : \u200fمرحبا") == "Texte en arabe : \u200fمرحبا"
