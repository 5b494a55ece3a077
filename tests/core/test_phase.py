"""The call's phase: à venir before the launch, ouvert with days left, clos after the deadline."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from collector.facts import DEFAULT_FACTS_PATH, load_facts
from collector.phase import NowError, current_phase, phase_at

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def facts():
    return load_facts()


@pytest.mark.parametrize(
    ("moment", "key", "days_left"),
    [
        ("2021-03-28T23:59:59", "a_venir", None),
        ("2021-03-29T00:00:00", "ouvert", 60),
        ("2021-04-15T10:00:00", "ouvert", 43),
        ("2021-05-27T12:00:00", "ouvert", 1),
        ("2021-05-28T23:59:59", "ouvert", 0),
        ("2021-05-29T00:00:00", "clos", None),
    ],
)
def test_phase_follows_the_calendar_in_paris_time(facts, moment, key, days_left):
    phase = phase_at(facts, datetime.fromisoformat(moment).replace(tzinfo=PARIS))
    assert (phase.key, phase.days_left) == (key, days_left)


def test_a_utc_moment_is_read_in_paris_time(facts):
    # 22:30 UTC on 28 May is 00:30 on 29 May in Paris: the call is closed.
    assert phase_at(facts, datetime(2021, 5, 28, 22, 30, tzinfo=ZoneInfo("UTC"))).key == "clos"


def test_ami_now_sets_now_and_asks_for_a_preview_banner(facts):
    phase = current_phase(facts, {"AMI_NOW": "2021-04-15T10:00:00"})
    assert phase.is_open and phase.preview and phase.label == "ouvert"
    assert phase.now == datetime(2021, 4, 15, 10, tzinfo=PARIS)


def test_without_ami_now_the_real_clock_decides_and_no_banner(facts):
    phase = current_phase(facts, {})
    assert not phase.preview
    assert phase.key == "clos"  # the 2021 call is over by the real clock


def test_a_malformed_ami_now_says_what_is_expected(facts):
    with pytest.raises(NowError, match="AMI_NOW='demain' n'est pas une date-heure ISO 8601"):
        current_phase(facts, {"AMI_NOW": "demain"})


def test_the_step_under_way_is_the_first_not_over_once_the_call_has_opened():
    from datetime import date

    from collector.phase import all_steps_over, step_under_way

    steps = load_facts(DEFAULT_FACTS_PATH)["calendar"]["steps"]
    expected = {date(2021, 3, 1): None, date(2021, 3, 29): "lancement", date(2021, 4, 15): "date-limite",
                date(2021, 5, 28): "date-limite", date(2021, 5, 29): "analyse", date(2021, 6, 30): "analyse",
                date(2021, 7, 1): "retour", date(2021, 7, 9): "retour", date(2021, 7, 10): None}
    assert {day: step_under_way(steps, day) for day in expected} == expected
    assert [all_steps_over(steps, day) for day in (date(2021, 7, 9), date(2021, 7, 10))] == [False, True]
