"""The trajectory of a KR: its plan against its actuals period by period (a burn-up), and
a forecast at the current pace. Plain functions over plain values, no ORM.

A *flow* (`cumulative`) is drawn as running totals from 0: the planned total at the end
of each period and the actual total through the latest check-in (a period without one
counts 0, as in SPEC.md §2). A *level* is drawn from its start value: the planned level at
each period's end and the actual levels checked in.

The forecast continues at the pace so far, the average per period since the cycle began:
a flow's actual total over the periods through the latest check-in, a level's change from
its start value over the same periods. It says in which period the target is reached (a
checked-in period, or a projected one) or, when it is not reached by the end of the
cycle, by how much it falls short there. Figures are exact (`Fraction`) until they are
rounded, half away from zero, to `places` decimals for the page.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from plans.progress import _round_half_up


@dataclass(frozen=True)
class Forecast:
    pace: Decimal  # per period: a flow's average amount, a level's average change
    projected: list[Decimal]  # at the end of each period after the latest check-in
    end: Decimal  # at the end of the cycle (the latest actual when nothing is left)
    reaches: int | None  # the first period whose end reaches the target; None: not in the cycle
    short_by: Decimal | None  # how far the end falls short of the target; None when reached


@dataclass(frozen=True)
class BurnUp:
    metric_kind: str
    origin: Decimal  # at the start of the cycle: 0 for a flow, the start value for a level
    target: Decimal
    planned: list[Decimal]  # at the end of each period
    actual: list[Decimal | None]  # at the end of each period through `through` (None: no
    # check-in of a level in that period)
    through: int | None  # the latest period with a check-in
    forecast: Forecast | None  # None before the first check-in

    @property
    def rising(self) -> bool:
        return self.target >= self.origin


def _reached(value: Fraction, target: Fraction, rising: bool) -> bool:
    return value >= target if rising else value <= target


def _round(value: Fraction, places: int) -> Decimal:
    return _round_half_up(value, places)


def burnup(
    *,
    metric_kind: str,
    start_value: Decimal,
    target: Decimal,
    plan: list[Decimal],
    actuals: dict[int, Decimal],
    places: int = 6,
) -> BurnUp:
    """The burn-up of a KR from its plan (one value per period) and `actuals` (period →
    actual; periods without a check-in absent), with the forecast at the current pace."""
    n = len(plan)
    actuals = {p: v for p, v in actuals.items() if 0 <= p < n}
    flow = metric_kind == "cumulative"
    origin = Fraction(0) if flow else Fraction(start_value)
    goal = Fraction(target)
    rising = goal >= origin

    if flow:
        planned, running = [], Fraction(0)
        for value in plan:
            running += Fraction(value)
            planned.append(running)
    else:
        planned = [Fraction(v) for v in plan]

    through = max(actuals) if actuals else None
    actual: list[Fraction | None] = []
    if through is not None:
        running = Fraction(0)
        for p in range(through + 1):
            if flow:
                running += Fraction(actuals.get(p, 0))
                actual.append(running)
            else:
                actual.append(Fraction(actuals[p]) if p in actuals else None)

    forecast = None
    if through is not None:
        latest = actual[through]
        pace = (latest - origin) / (through + 1)
        projected = [latest + pace * (p - through) for p in range(through + 1, n)]
        end = projected[-1] if projected else latest
        seen = [(p, v) for p, v in enumerate(actual) if v is not None]
        seen += list(enumerate(projected, start=through + 1))
        reaches = next((p for p, v in seen if _reached(v, goal, rising)), None)
        short = None if reaches is not None else abs(goal - end)
        forecast = Forecast(
            pace=_round(pace, places),
            projected=[_round(v, places) for v in projected],
            end=_round(end, places),
            reaches=reaches,
            short_by=None if short is None else _round(short, places),
        )

    return BurnUp(
        metric_kind=metric_kind,
        origin=_round(origin, places),
        target=target,
        planned=[_round(v, places) for v in planned],
        actual=[None if v is None else _round(v, places) for v in actual],
        through=through,
        forecast=forecast,
    )


def today_position(periods: list[tuple[date, date]], today: date) -> Fraction | None:
    """Where `today` falls on a burn-up's axis, in periods from the cycle's start (0 at
    the start of the first period, n at the end of the last; within a period by its
    days elapsed); None outside the cycle. `periods`: (start, end) of each, inclusive."""
    for index, (start, end) in enumerate(periods):
        if start <= today <= end:
            days = (end - start).days + 1
            return index + Fraction((today - start).days, days)
    return None


@dataclass(frozen=True)
class StageRatio:
    """A funnel stage's conversion from the previous stage: as it is so far (its actual
    to date over the previous stage's, both through the latest period both checked in),
    as planned (the reference ratio) and as observed before (the historical ratio)."""

    id: int
    actual: Decimal | None
    reference: Decimal | None
    historical: Decimal | None
    through: int | None


def stage_ratios(
    stages: list[tuple[int, dict[int, Decimal], Decimal | None, Decimal | None]],
    places: int = 4,
) -> list[StageRatio]:
    """Each stage after the first, from (id, actuals, reference ratio, historical ratio)
    in funnel order. No actual ratio before both stages have a check-in, or when the
    previous stage's actual to date is 0."""
    found = []
    for (_, before, _, _), (stage_id, after, reference, historical) in pairwise(stages):
        through = min(max(before), max(after)) if before and after else None
        ratio = None
        if through is not None:
            upstream = sum((Fraction(v) for p, v in before.items() if p <= through), Fraction(0))
            downstream = sum((Fraction(v) for p, v in after.items() if p <= through), Fraction(0))
            if upstream > 0:
                ratio = _round(downstream / upstream, places)
        found.append(
            StageRatio(
                id=stage_id,
                actual=ratio,
                reference=reference,
                historical=historical,
                through=through,
            )
        )
    return found
