"""Records for the review tests and benches, written through the real write path.

Answers go through the form's own schema (as the collector does) before
`records.build_record` + `records.write_record`, so every record here is one the
collector could have stored.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from collector.formdef import FormDefinition, load_form, ordered_answers
from collector.records import build_record, write_record
from collector.validation import derive
from tests.support.payloads import valid_answers
from tests.support.stores import postgres_store_standing_for

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2021, 3, 29, 9, 0, tzinfo=PARIS)

# Valid SIRETs (Luhn) for distinct organisations.
SIRETS = ["73282932000017", "35600000000048", "44306184100013", "55208131700018", "38347481400019",
          "41815125400012", "80295478400012", "33043347500010"]
POSTCODES = ["14000", "27000", "50000", "61000", "76000", "75011", "35000"]


def normalise(form: FormDefinition, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Answers as the collector stores them, with its flags and derived facts."""
    answers = ordered_answers(form, form.build_schema().load(raw))
    flags, derived = derive(answers, form.first_of_type("postcode"))
    return answers, flags, derived


def raw_answers(form: FormDefinition, number: int, rng: random.Random, **overrides: Any) -> dict[str, Any]:
    """A varied valid submission; `number` picks the organisation, e-mail, thématiques…"""
    raw = valid_answers(form)
    thematiques = [value for value, _label in form.field("thematiques").choices if value != "autre"]
    types = [value for value, _label in form.field("type_structure").choices if value != "association"]
    raw.update({
        "raison_sociale": f"Structure numéro {number}",
        "type_structure": rng.choice(types),
        "siret": SIRETS[number % len(SIRETS)] if number < len(SIRETS) else "",
        "code_postal": POSTCODES[number % len(POSTCODES)],
        "contact_email": f"contact{number}@exemple.fr",
        "thematiques": sorted(rng.sample(thematiques, rng.randint(1, 3))),
        "thematique_autre": "",
    })
    if not raw["siret"]:
        raw["type_structure"] = "association"
        raw["rna"] = f"W{140000000 + number:09d}"
    raw.update(overrides)
    return raw


def make_record(form: FormDefinition, number: int, *, when: datetime | None = None, rng: random.Random | None = None,
                prefix: str = "AMI-2021", **overrides: Any) -> dict[str, Any]:
    rng = rng or random.Random(number)
    answers, flags, derived = normalise(form, raw_answers(form, number, rng, **overrides))
    received = when or START + timedelta(hours=7 * number)
    return build_record(f"{prefix}-{number:04d}", received, form.version, answers, flags, derived)


def write_records(data_dir: str, count: int, form: FormDefinition | None = None, start: int = 1,
                  **overrides: Any) -> list[dict[str, Any]]:
    """Write `count` valid records AMI-2021-0001… into `data_dir`, or into the PostgreSQL database it
    stands for when the test runs on PostgreSQL (tests/support/stores.py); return them."""
    form = form or load_form()
    records = []
    with postgres_store_standing_for(data_dir) as store:  # a test running on PostgreSQL: its store
        for number in range(start, start + count):
            record = make_record(form, number, **overrides)
            if store is None:
                write_record(data_dir, record)
            else:
                assert store.write_record(record), f"{record['reference']} already stored"
            records.append(record)
    return records
