"""Does a stored record still validate against the form? (for `check`, `list`, `export`)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from ..facts import flatten_errors
from ..formdef import FormDefinition


def record_validator(form: FormDefinition):
    """A function record -> list of French problems (empty when the record is valid)."""
    schema = form.build_schema()

    def problems(record: dict[str, Any]) -> list[str]:
        try:
            schema.load(record["answers"])
        except ValidationError as error:
            return flatten_errors(error.messages)
        except (TypeError, ValueError, AttributeError) as error:
            return [f"réponses illisibles ({error})"]
        return []

    return problems
