"""collector/next_steps.py promises only what is still to come: never a step already past, never an answer given.

A step is still to come through its last day (its `end`, else its `start`); the dossier page
announces the analysis and the answer while they are to come, nothing once the Région answered,
and, once the answer's step is over without an answer, that it will come by e-mail, without a date.
"""

from __future__ import annotations

from datetime import date

import pytest

from collector.next_steps import LATE_ANSWER, PAGE_TEXTS, dossier_next_steps, last_day, steps_to_come

OPENING = {"id": "lancement", "label": "Lancement", "start": date(2021, 3, 29)}
ANALYSIS = {"id": "analyse", "label": "Analyse des retours", "start": date(2021, 6, 1), "end": date(2021, 6, 30),
            "display": "juin 2021"}
ANSWER = {"id": "retour", "label": "Retour aux répondants", "start": date(2021, 7, 1), "end": date(2021, 7, 9)}
STEPS = [OPENING, ANALYSIS, ANSWER]
REGION = "Région Normandie"


def analysis_line() -> tuple[str, str, str]:
    return ("Analyse des retours", "juin 2021", PAGE_TEXTS["analyse"].format(organisation=REGION))


def answer_line() -> tuple[str, str, str]:
    return ("Retour aux répondants", "du jeudi 1er juillet 2021 au vendredi 9 juillet 2021",
            PAGE_TEXTS["retour"].format(organisation=REGION))


def late_line() -> tuple[str, str, str]:
    return ("Retour aux répondants", "", LATE_ANSWER.format(organisation=REGION))


def test_a_steps_last_day_is_its_end_or_else_its_start():
    assert last_day(ANALYSIS) == date(2021, 6, 30)
    assert last_day(OPENING) == date(2021, 3, 29)
    assert last_day({"start": date(2021, 6, 1), "end": None}) == date(2021, 6, 1)


@pytest.mark.parametrize("today, to_come", [
    (date(2021, 3, 28), [OPENING, ANALYSIS, ANSWER]),
    (date(2021, 3, 29), [OPENING, ANALYSIS, ANSWER]),  # a one-day step is to come on its day
    (date(2021, 3, 30), [ANALYSIS, ANSWER]),
    (date(2021, 6, 15), [ANALYSIS, ANSWER]),  # a step running today is still to come
    (date(2021, 6, 30), [ANALYSIS, ANSWER]),  # through its last day
    (date(2021, 7, 1), [ANSWER]),
    (date(2021, 7, 10), []),
])
def test_the_steps_to_come_are_those_not_over_on_the_day(today, to_come):
    assert steps_to_come(STEPS, today) == to_come


@pytest.mark.parametrize("today, lines", [
    (date(2021, 4, 15), [analysis_line(), answer_line()]),
    (date(2021, 6, 30), [analysis_line(), answer_line()]),  # the analysis's last day
    (date(2021, 7, 1), [answer_line()]),
    (date(2021, 7, 9), [answer_line()]),  # the answer's last day: its dates still hold
    (date(2021, 7, 10), [late_line()]),  # over without an answer: no past date
    (date(2022, 1, 1), [late_line()]),
])
def test_the_dossier_page_announces_the_analysis_and_the_answer_while_they_are_to_come(today, lines):
    assert dossier_next_steps(STEPS, False, today, REGION) == lines


@pytest.mark.parametrize("today", [date(2021, 4, 15), date(2021, 7, 1), date(2021, 7, 10)])
def test_once_the_region_answered_the_page_announces_nothing(today):
    assert dossier_next_steps(STEPS, True, today, REGION) == []


def test_a_calendar_without_the_analysis_or_the_answer_announces_only_what_it_has():
    assert dossier_next_steps([OPENING, ANSWER], False, date(2021, 4, 15), REGION) == [answer_line()]
    assert dossier_next_steps([OPENING, ANALYSIS], False, date(2021, 4, 15), REGION) == [analysis_line()]
    assert dossier_next_steps([OPENING, ANALYSIS], False, date(2021, 8, 1), REGION) == []
    assert dossier_next_steps([], False, date(2021, 4, 15), REGION) == []
