"""The periods of a cycle and its default dates (SPEC §2, Cycle).

Pure functions over `datetime.date`: no ORM. A cycle's periods are derived,
never stored: the calendar months intersecting the cycle (clipped to it), or
consecutive 7-day blocks from its start (the last may be shorter).
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

GRANULARITIES = ("month", "week")

# Fixed English abbreviations: labels must not depend on the server's locale.
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """One period of a cycle; `end` is inclusive."""

    index: int
    start: date
    end: date
    label: str


def periods_derive(start: date, end: date, granularity: str) -> list[Period]:
    """The periods of the cycle [start, end] (both inclusive), SPEC §2.

    `month`: the calendar months intersecting the cycle, the first starting at
    `start` and the last ending at `end`; labels like "Jan 2026".
    `week`: consecutive 7-day blocks from `start`, the last possibly shorter;
    labels "W1", "W2", ...
    """
    if end < start:
        raise ValueError(f"The cycle ends ({end}) before it starts ({start}).")
    if granularity not in GRANULARITIES:
        raise ValueError(
            f"Unknown granularity {granularity!r}; expected one of {', '.join(GRANULARITIES)}."
        )

    periods: list[Period] = []
    current = start
    while True:
        index = len(periods)
        if granularity == "month":
            last_day = calendar.monthrange(current.year, current.month)[1]
            period_end = min(current.replace(day=last_day), end)
            label = f"{_MONTH_ABBR[current.month - 1]} {current.year}"
        else:
            # Compare lengths rather than compute current + 6 days (no overflow near date.max).
            period_end = end if (end - current).days < 7 else current + timedelta(days=6)
            label = f"W{index + 1}"
        periods.append(Period(index=index, start=current, end=period_end, label=label))
        if period_end == end:
            return periods
        current = period_end + _ONE_DAY


def period_index_for(periods: list[Period], day: date) -> int | None:
    """The index of the period containing `day`, or None when no period does."""
    for period in periods:
        if period.start <= day <= period.end:
            return period.index
    return None


def alignment_meeting_default(start: date) -> date:
    """Default alignment meeting: day 11 of the cycle (SPEC §2: within days 10-12)."""
    return start + timedelta(days=10)


def midcycle_check_default(start: date) -> date:
    """Default mid-cycle check: the first day of week 6 of the cycle (SPEC §2)."""
    return start + timedelta(days=35)
