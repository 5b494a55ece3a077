"""Does a stored record still validate against the form? (for `check`, `list`, `export`).

The collector validated every answer before storing it and wrote the answers' sha256
as `content_hash`. A record whose answers still match that hash is unchanged since it
was validated, so `list`, `export` and the review pages (`trust_hash=True`) run the
form's schema only on records whose answers were edited by hand; `check` runs it on
every record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError

from ..facts import flatten_errors
from ..formdef import FormDefinition
from ..records import content_hash


def record_validator(form: FormDefinition, *, trust_hash: bool = False) -> Callable[[dict[str, Any]], list[str]]:
    """A function record -> list of French problems (empty when the record is valid)."""
    schema = form.build_schema()

    def problems(record: dict[str, Any]) -> list[str]:
        try:
            if trust_hash and record.get("content_hash") == content_hash(record["answers"]):
                return []
            schema.load(record["answers"])
        except ValidationError as error:
            return flatten_errors(error.messages)
        except (TypeError, ValueError, AttributeError) as error:
            return [f"réponses illisibles ({error})"]
        return []

    # Says which form (and mode) judged a record, so that stored judgements (review/index.py)
    # are redone when the form definition changes.
    digest = hashlib.sha256(repr(form.fields).encode("utf-8")).hexdigest()[:16]
    problems.fingerprint = f"form-{form.version}-{digest}-{'hash' if trust_hash else 'full'}"  # type: ignore[attr-defined]
    return problems
