"""hierarchy/periods.py: the derived periods of a cycle and its default dates (SPEC §2)."""

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hierarchy.periods import (
    Period,
    alignment_meeting_default,
    midcycle_check_default,
    period_index_for,
    periods_derive,
)

ONE_DAY = timedelta(days=1)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
lengths = st.integers(min_value=0, max_value=400)
granularities = st.sampled_from(["month", "week"])


def bounds(periods: list[Period]) -> list[tuple[date, date]]:
    return [(p.start, p.end) for p in periods]


def test_it_derives_the_months_of_a_calendar_quarter():
    periods = periods_derive(date(2026, 1, 1), date(2026, 3, 31), "month")

    assert bounds(periods) == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]
    assert [p.label for p in periods] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert [p.index for p in periods] == [0, 1, 2]


def test_it_clips_months_to_a_cycle_starting_mid_month():
    periods = periods_derive(date(2026, 1, 15), date(2026, 4, 14), "month")

    assert bounds(periods) == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 4, 14)),
    ]
    assert [p.label for p in periods] == ["Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026"]


def test_it_derives_thirteen_weeks_from_a_monday():
    monday = date(2026, 1, 5)
    periods = periods_derive(monday, monday + timedelta(days=13 * 7 - 1), "week")

    assert len(periods) == 13
    assert all(p.start.weekday() == 0 and (p.end - p.start).days == 6 for p in periods)
    assert [p.label for p in periods] == [f"W{i}" for i in range(1, 14)]
    assert periods[-1].end == date(2026, 4, 5)


def test_it_ends_a_92_day_weekly_cycle_with_a_one_day_week():
    periods = periods_derive(date(2026, 7, 1), date(2026, 9, 30), "week")

    assert len(periods) == 14
    assert periods[-1] == Period(
        index=13, start=date(2026, 9, 30), end=date(2026, 9, 30), label="W14"
    )


def test_it_knows_february_of_a_leap_year():
    periods = periods_derive(date(2028, 2, 10), date(2028, 3, 5), "month")

    assert bounds(periods) == [
        (date(2028, 2, 10), date(2028, 2, 29)),
        (date(2028, 3, 1), date(2028, 3, 5)),
    ]
    assert [p.label for p in periods] == ["Feb 2028", "Mar 2028"]


def test_it_derives_one_period_for_a_one_day_cycle():
    for granularity, label in (("month", "May 2026"), ("week", "W1")):
        day = date(2026, 5, 31)
        assert periods_derive(day, day, granularity) == [Period(0, day, day, label)]


def test_it_crosses_a_year_boundary():
    periods = periods_derive(date(2025, 12, 1), date(2026, 2, 28), "month")

    assert [p.label for p in periods] == ["Dec 2025", "Jan 2026", "Feb 2026"]


def test_it_rejects_a_cycle_ending_before_it_starts():
    with pytest.raises(ValueError, match="before it starts"):
        periods_derive(date(2026, 3, 31), date(2026, 1, 1), "month")


def test_it_rejects_an_unknown_granularity():
    with pytest.raises(ValueError, match="granularity"):
        periods_derive(date(2026, 1, 1), date(2026, 3, 31), "fortnight")


def test_it_finds_the_period_of_a_day():
    periods = periods_derive(date(2026, 1, 15), date(2026, 4, 14), "month")

    assert period_index_for(periods, date(2026, 1, 15)) == 0
    assert period_index_for(periods, date(2026, 2, 28)) == 1
    assert period_index_for(periods, date(2026, 3, 1)) == 2
    assert period_index_for(periods, date(2026, 4, 14)) == 3
    assert period_index_for(periods, date(2026, 1, 14)) is None
    assert period_index_for(periods, date(2026, 4, 15)) is None
    assert period_index_for([], date(2026, 1, 1)) is None


def test_it_puts_the_alignment_meeting_on_day_11():
    assert alignment_meeting_default(date(2026, 1, 1)) == date(2026, 1, 11)
    assert alignment_meeting_default(date(2026, 2, 25)) == date(2026, 3, 7)


def test_it_puts_the_midcycle_check_on_the_first_day_of_week_6():
    start = date(2026, 1, 5)
    check = midcycle_check_default(start)

    assert check == date(2026, 2, 9)
    weeks = periods_derive(start, start + timedelta(days=90), "week")
    assert weeks[5].start == check


@settings(max_examples=300, deadline=None)
@given(start=starts, length=lengths, granularity=granularities)
def test_it_covers_the_cycle_with_contiguous_non_empty_periods(start, length, granularity):
    end = start + timedelta(days=length)
    periods = periods_derive(start, end, granularity)

    assert periods[0].start == start
    assert periods[-1].end == end
    assert [p.index for p in periods] == list(range(len(periods)))
    assert all(p.start <= p.end for p in periods)
    for previous, current in itertools.pairwise(periods):
        assert current.start == previous.end + ONE_DAY


@settings(max_examples=300, deadline=None)
@given(start=starts, length=lengths)
def test_it_makes_weeks_of_seven_days_but_the_last(start, length):
    end = start + timedelta(days=length)
    periods = periods_derive(start, end, "week")
    days = [(p.end - p.start).days + 1 for p in periods]

    assert all(d == 7 for d in days[:-1])
    assert 1 <= days[-1] <= 7
    assert len(periods) == length // 7 + 1
    assert [p.label for p in periods] == [f"W{i + 1}" for i in range(len(periods))]


@settings(max_examples=300, deadline=None)
@given(start=starts, length=lengths)
def test_it_makes_one_period_per_calendar_month(start, length):
    end = start + timedelta(days=length)
    periods = periods_derive(start, end, "month")
    months = {
        (day.year, day.month) for day in (start + timedelta(days=i) for i in range(length + 1))
    }

    assert all((p.start.year, p.start.month) == (p.end.year, p.end.month) for p in periods)
    assert len(periods) == len(months)
    assert [p.label for p in periods] == [
        f"{MONTHS[p.start.month - 1]} {p.start.year}" for p in periods
    ]


@settings(max_examples=200, deadline=None)
@given(start=starts, length=lengths, granularity=granularities)
def test_it_finds_every_day_of_the_cycle_and_none_outside(start, length, granularity):
    end = start + timedelta(days=length)
    periods = periods_derive(start, end, granularity)

    for i in range(length + 1):
        day = start + timedelta(days=i)
        index = period_index_for(periods, day)
        assert index is not None
        assert periods[index].start <= day <= periods[index].end
    assert period_index_for(periods, start - ONE_DAY) is None
    assert period_index_for(periods, end + ONE_DAY) is None
