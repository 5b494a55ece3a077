"""The French filters shared by the site and the collector's templates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from collector.template_filters import FILTERS

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("date_fr", date(2021, 3, 29), "lundi 29 mars 2021"),
    ("date_fr", datetime(2021, 5, 28, 23, 59, tzinfo=PARIS), "vendredi 28 mai 2021"),
    ("date_fr", date(2021, 7, 1), "jeudi 1er juillet 2021"),
    ("datetime_fr", datetime(2021, 5, 28, 23, 59, 59, tzinfo=PARIS), "vendredi 28 mai 2021 à 23 h 59"),
    ("datetime_fr", datetime(2021, 4, 15, 9, 5, tzinfo=PARIS), "jeudi 15 avril 2021 à 9 h 05"),
    ("month_fr", date(2021, 6, 1), "juin 2021"),
    ("period_fr", {"start": date(2021, 3, 29), "end": None, "display": None}, "lundi 29 mars 2021"),
    ("period_fr", {"start": date(2021, 6, 1), "end": date(2021, 6, 30), "display": "juin 2021"}, "juin 2021"),
    ("period_fr", {"start": date(2021, 6, 1), "end": date(2021, 6, 4), "display": None},
     "du mardi 1er juin 2021 au vendredi 4 juin 2021"),
    ("days_fr", 0, "0 jour"),
    ("days_fr", 1, "1 jour"),
    ("days_fr", 43, "43 jours"),
    ("number_fr", 17.6, "17,6"),
    ("number_fr", 13, "13"),
    ("tel_href", "02 31 06 98 98", "tel:+33231069898"),
    ("iso_date", datetime(2021, 5, 28, 23, 59, tzinfo=PARIS), "2021-05-28"),
    ("step_datetime", {"start": date(2021, 6, 1), "end": date(2021, 6, 30)}, "2021-06"),
    ("step_datetime", {"start": date(2021, 3, 29), "end": None}, "2021-03-29"),
])
def test_filter(name, value, expected):
    assert FILTERS[name](value) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("AMI « Usages numériques » ?", "AMI «\u00a0Usages numériques\u00a0»\u00a0?"),
    ("moyenne nationale (16 %) : 17,6 %", "moyenne nationale (16\u00a0%)\u00a0: 17,6\u00a0%"),
    ('<a href="/candidater/?a=1">lien</a> : suite', '<a href="/candidater/?a=1">lien</a>\u00a0: suite'),
    ('<time datetime="2021-05-28T23:59:59+02:00">', '<time datetime="2021-05-28T23:59:59+02:00">'),
    ("https://www.normandie.fr", "https://www.normandie.fr"),
])
def test_nbsp_fr_keeps_french_punctuation_with_its_word(text, expected):
    assert FILTERS["nbsp_fr"](text) == expected


def test_nbsp_fr_keeps_safe_html_safe():
    from markupsafe import Markup

    result = FILTERS["nbsp_fr"](Markup("<em>Note</em> : oui"))
    assert isinstance(result, Markup) and str(result) == "<em>Note</em>\u00a0: oui"
