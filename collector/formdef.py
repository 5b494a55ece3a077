"""The form definition (content/data/form.yaml): loaded, checked, and turned into a schema.

One file drives the form page (Pelican and the collector render it), the server
validation (`build_schema()`) and the exports (`.fields` gives the columns). A bad
definition raises `FormDefinitionError` naming the file and the field, never a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from .facts import flatten_errors
from .validation import FIELD_CLASSES, is_empty
from .yamlio import YamlFileError, read_yaml_file

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FORM_PATH = os.path.join(REPO_ROOT, "content", "data", "form.yaml")
FORM_PATH_VARIABLE = "COLLECTOR_FORM_PATH"

CHOICE_TYPES = frozenset({"select", "radio", "checkboxes"})
INPUT_TYPES = {"email": "email", "tel": "tel"}
NUMERIC_TYPES = frozenset({"postcode", "siret"})
REQUIRED = {"required": "champ obligatoire manquant."}
UNKNOWN_FIELD = "Ce champ ne fait pas partie du formulaire."


class FormDefinitionError(ValueError):
    """The form definition is unusable; the message names the file and each bad field."""


@dataclass(frozen=True)
class Condition:
    """One clause of `required_when`: another field's answer is in / not in values, or (not) empty."""

    field: str
    within: tuple[str, ...] | None = None
    outside: tuple[str, ...] | None = None
    empty: bool | None = None

    def holds(self, value: Any) -> bool:
        if self.empty is not None:
            return is_empty(value) == self.empty
        values = set(value) if isinstance(value, list) else {value}
        if self.within is not None:
            return bool(values & set(self.within))
        return not values & set(self.outside or ())


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    type: str
    group: str
    required: bool = False
    hint: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    min_length: int | None = None
    autocomplete: str | None = None
    required_when: tuple[Condition, ...] = ()
    required_message: str = ""
    link: dict[str, str] | None = None
    column: str | None = None  # short header of the spreadsheet exports (the label if unset)

    @property
    def column_header(self) -> str:
        return self.column or self.label

    @property
    def multiple(self) -> bool:
        """True when the answer is a list (checkboxes)."""
        return self.type == "checkboxes"

    @cached_property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)

    @property
    def input_type(self) -> str:
        """The HTML `type` of an <input> for this question."""
        return INPUT_TYPES.get(self.type, "text")

    @property
    def inputmode(self) -> str | None:
        return "numeric" if self.type in NUMERIC_TYPES else None

    @property
    def conditional(self) -> bool:
        return bool(self.required_when)

    @property
    def is_group_of_inputs(self) -> bool:
        """True when the question is several inputs (radio buttons, checkboxes): a fieldset of its own."""
        return self.type in {"radio", "checkboxes"}

    def required_now(self, answers: dict[str, Any]) -> bool:
        """Whether an answer is needed, given the other answers."""
        if not self.required_when:
            return self.required
        return all(condition.holds(answers.get(condition.field)) for condition in self.required_when)


@dataclass(frozen=True)
class Group:
    id: str
    legend: str
    hint: str | None
    fields: tuple[FieldDef, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FormDefinition:
    version: int
    title: str
    intro: str | None
    groups: tuple[Group, ...]
    fields: tuple[FieldDef, ...]
    path: str

    def field(self, name: str) -> FieldDef:
        """The question called `name` (KeyError if there is none)."""
        return self.by_name[name]

    @cached_property
    def by_name(self) -> dict[str, FieldDef]:
        return {item.name: item for item in self.fields}

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.fields)

    def choice_label(self, field_name: str, value: str) -> str:
        """The French label of one choice (the value itself if unknown)."""
        return dict(self.field(field_name).choices).get(value, value)

    def first_of_type(self, type_name: str) -> str | None:
        return next((item.name for item in self.fields if item.type == type_name), None)

    def build_schema(self) -> Schema:
        """A marshmallow schema for the answers, with the definition's French messages."""
        return build_schema(self)


# --- Checking the definition file itself -------------------------------------------------

_NAME = validate.Regexp(r"^[a-z][a-z0-9_]*$", error="minuscules, chiffres et _ seulement, en commençant par une lettre.")


def _text(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, error="ne doit pas être vide."), **kwargs)


class ChoiceSchema(Schema):
    value = _text(required=True, error_messages=REQUIRED)
    label = _text(required=True, error_messages=REQUIRED)


class ConditionSchema(Schema):
    field = _text(required=True, error_messages=REQUIRED)
    in_ = fields.List(fields.String(), data_key="in", load_default=None)
    not_in = fields.List(fields.String(), load_default=None)
    empty = fields.Boolean(load_default=None)

    @validates_schema
    def one_test(self, data: dict, **kwargs: Any) -> None:
        if sum(data.get(key) is not None for key in ("in_", "not_in", "empty")) != 1:
            raise ValidationError("une condition a exactement un test : in, not_in ou empty.")


class LinkSchema(Schema):
    href = _text(required=True, error_messages=REQUIRED)
    text = _text(required=True, error_messages=REQUIRED)


class FieldSchema(Schema):
    name = fields.String(required=True, validate=_NAME, error_messages=REQUIRED)
    label = _text(required=True, error_messages=REQUIRED)
    hint = fields.String(load_default=None)
    type = fields.String(required=True, error_messages=REQUIRED, validate=validate.OneOf(
        sorted(FIELD_CLASSES), error="type inconnu (attendu : " + ", ".join(sorted(FIELD_CLASSES)) + ")."))
    group = _text(required=True, error_messages=REQUIRED)
    required = fields.Boolean(load_default=False)
    choices = fields.List(fields.Nested(ChoiceSchema), load_default=list)
    max_length = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))
    min_length = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))
    autocomplete = fields.String(load_default=None)
    required_when = fields.List(fields.Nested(ConditionSchema), load_default=list)
    required_message = fields.String(load_default=None)
    link = fields.Nested(LinkSchema, load_default=None)
    column = fields.String(load_default=None, validate=validate.Length(min=1, max=40, error="1 à 40 caractères."))

    @validates_schema
    def coherent(self, data: dict, **kwargs: Any) -> None:
        if data["type"] in CHOICE_TYPES and not data["choices"]:
            raise ValidationError("ce type de question demande une liste « choices ».", "choices")
        if data["type"] not in CHOICE_TYPES and data["choices"]:
            raise ValidationError("seules les questions à choix ont des « choices ».", "choices")
        values = [choice["value"] for choice in data["choices"]]
        if len(values) != len(set(values)):
            raise ValidationError("deux choix ont la même valeur.", "choices")
        if data["min_length"] and data["max_length"] and data["min_length"] > data["max_length"]:
            raise ValidationError("min_length dépasse max_length.", "min_length")


class GroupSchema(Schema):
    id = fields.String(required=True, validate=_NAME, error_messages=REQUIRED)
    legend = _text(required=True, error_messages=REQUIRED)
    hint = fields.String(load_default=None)


class DefinitionSchema(Schema):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), error_messages=REQUIRED)
    title = _text(required=True, error_messages=REQUIRED)
    intro = fields.String(load_default=None)
    groups = fields.List(fields.Nested(GroupSchema), required=True, validate=validate.Length(min=1), error_messages=REQUIRED)
    fields = fields.List(fields.Nested(FieldSchema), required=True, validate=validate.Length(min=1), error_messages=REQUIRED)

    @validates_schema
    def cross_references(self, data: dict, **kwargs: Any) -> None:
        group_ids = [group["id"] for group in data["groups"]]
        if len(group_ids) != len(set(group_ids)):
            raise ValidationError("deux groupes ont le même id.", "groups")
        seen: dict[str, dict] = {}
        for item in data["fields"]:
            where = f"fields.{item['name']}"
            if item["name"] in seen:
                raise ValidationError(f"{where} : ce nom est déjà pris par une autre question.", "fields")
            if item["group"] not in group_ids:
                raise ValidationError(f"{where}.group : groupe « {item['group']} » inconnu.", "fields")
            seen[item["name"]] = item
        for item in data["fields"]:
            for condition in item["required_when"]:
                other = seen.get(condition["field"])
                if other is None or other["name"] == item["name"]:
                    raise ValidationError(
                        f"fields.{item['name']}.required_when : question « {condition['field']} » inconnue.", "fields")
                listed = (condition["in_"] or []) + (condition["not_in"] or [])
                known = {choice["value"] for choice in other["choices"]}
                if known and not set(listed) <= known:
                    raise ValidationError(
                        f"fields.{item['name']}.required_when : valeur inconnue pour « {other['name']} ».", "fields")


def _default_message(item: dict) -> str:
    if item["type"] == "checkbox":
        return f"Cochez la case « {item['label']} »."
    if item["type"] in CHOICE_TYPES:
        return f"Choisissez une réponse pour « {item['label']} »."
    return f"Renseignez « {item['label']} »."


def _field_def(item: dict) -> FieldDef:
    conditions = tuple(
        Condition(field=c["field"], within=tuple(c["in_"]) if c["in_"] is not None else None,
                  outside=tuple(c["not_in"]) if c["not_in"] is not None else None, empty=c["empty"])
        for c in item["required_when"])
    return FieldDef(
        name=item["name"], label=" ".join(item["label"].split()), type=item["type"], group=item["group"],
        required=item["required"], hint=item["hint"],
        choices=tuple((choice["value"], choice["label"]) for choice in item["choices"]),
        max_length=item["max_length"], min_length=item["min_length"], autocomplete=item["autocomplete"],
        required_when=conditions, required_message=" ".join((item["required_message"] or _default_message(item)).split()),
        link=item["link"], column=item["column"],
    )


def load_form(path: str | None = None) -> FormDefinition:
    """Read and check the form definition (COLLECTOR_FORM_PATH, else content/data/form.yaml)."""
    path = path or os.environ.get(FORM_PATH_VARIABLE) or DEFAULT_FORM_PATH
    try:
        raw = read_yaml_file(path, plain_dates=True)
    except YamlFileError as error:
        raise FormDefinitionError(str(error)) from error
    if not isinstance(raw, dict):
        raise FormDefinitionError(f"{path} : le fichier doit contenir les clés version, title, groups et fields.")
    try:
        data = DefinitionSchema().load(raw)
    except ValidationError as error:
        messages = error.messages
        if isinstance(messages, dict) and isinstance(messages.get("fields"), dict):
            named = {}
            for index, problem in messages["fields"].items():
                name = raw["fields"][index].get("name") if isinstance(index, int) and isinstance(raw["fields"][index], dict) else None
                named[f"{index} ({name})" if name else str(index)] = problem
            messages = {**messages, "fields": named}
        raise FormDefinitionError(f"{path} : " + "; ".join(flatten_errors(messages))) from error
    field_defs = tuple(_field_def(item) for item in data["fields"])
    groups = tuple(
        Group(id=group["id"], legend=group["legend"], hint=group["hint"],
              fields=tuple(item for item in field_defs if item.group == group["id"]))
        for group in data["groups"])
    return FormDefinition(version=data["version"], title=data["title"], intro=data["intro"],
                          groups=groups, fields=field_defs, path=path)


# --- The answers' schema ------------------------------------------------------------------


class AnswersSchema(Schema):
    """Base for the schema built from a definition: drops blank answers, checks conditions."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": UNKNOWN_FIELD, "type": "Le formulaire envoyé n'a pas la forme attendue."}
    definition: FormDefinition

    @pre_load
    def drop_blanks(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items() if not is_empty(value)}

    @validates_schema(skip_on_field_errors=False)
    def conditional_answers(self, data: dict, **kwargs: Any) -> None:
        errors = {}
        for item in self.definition.fields:
            if not item.required_when or not is_empty(data.get(item.name)):
                continue
            if item.name not in data or any(c.field not in data for c in item.required_when):
                continue  # the field or one it depends on already has its own error
            if item.required_now(data):
                errors[item.name] = [item.required_message]
        if errors:
            raise ValidationError(errors)


def build_schema(definition: FormDefinition) -> Schema:
    """A marshmallow 4 schema built at run time (Schema.from_dict) from the definition."""
    declared = {item.name: FIELD_CLASSES[item.type](item) for item in definition.fields}
    schema_class = AnswersSchema.from_dict(declared, name=f"AnswersV{definition.version}")
    schema_class.definition = definition
    return schema_class()


def ordered_answers(definition: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """The loaded answers in the form's order, every question present."""
    return {item.name: data[item.name] for item in definition.fields}
