"""Progress of a key result against its plan (SPEC §2 Check-in; API.md `progress_pct`).

Pure functions over `Decimal`: no ORM. "To date" means through the latest
period that has a check-in. Comparisons are exact (`Fraction`); only the
reported `ratio` and `progress_pct` are rounded, half up.
"""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

METRIC_KINDS = ("cumulative", "level")

ON_TRACK = Fraction(9, 10)
AT_RISK = Fraction(7, 10)

# A status in words, as the pages show it.
STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "not_started": "Not started",
}


@dataclass(frozen=True)
class Progress:
    status: str  # on_track, at_risk, off_track, not_started
    actual_to_date: Decimal | None
    plan_to_date: Decimal | None
    ratio: Decimal | None  # actual_to_date / plan_to_date, 4 places
    progress_pct: Decimal | None  # achieved so far against the target, 2 places
    through_period: int | None  # the latest period with a check-in


NOT_STARTED = Progress(
    status="not_started",
    actual_to_date=None,
    plan_to_date=None,
    ratio=None,
    progress_pct=None,
    through_period=None,
)


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """`value` rounded half away from zero to `places` decimals, exactly."""
    scaled = abs(value) * 10**places
    units = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    sign = "-" if value < 0 else ""
    return Decimal(f"{sign}{units}E-{places}")


def _percent(achieved: Decimal, needed: Decimal) -> Decimal | None:
    if needed == 0:
        return None
    return _round_half_up(Fraction(achieved) / Fraction(needed) * 100, 2)


def progress(
    *,
    metric_kind: str,
    start_value: Decimal,
    target: Decimal,
    plan: list[Decimal],
    actuals: dict[int, Decimal],
) -> Progress:
    """Status and progress of a KR from its plan and check-ins (SPEC §2).

    `actuals` maps a period index to that period's check-in value (periods
    without a check-in are absent). Through the latest checked-in period p:
    cumulative: actual to date = Σ actuals (absent periods count 0), plan to
    date = Σ plan[0..p]; level: actual to date = actual[p] - start value, plan
    to date = plan[p] - start value. Status from ratio = actual / plan to date:
    `on_track` ≥ 0.9, `at_risk` ≥ 0.7, else `off_track` (compared exactly, not
    after rounding). A falling level metric has a negative plan to date; the
    ratio is then positive when the level falls as planned.

    A plan to date of 0 has no ratio: the KR is on track when the actual to date
    is not worse than planned, i.e. ≥ 0, or for a level metric whose target is
    below its start value ≤ 0.

    `progress_pct` (API.md): cumulative Σ actuals / target * 100; level
    (latest - start) / (target - start) * 100; None when the denominator is 0.
    """
    if metric_kind not in METRIC_KINDS:
        raise ValueError(
            f"Unknown metric_kind {metric_kind!r}; expected one of {', '.join(METRIC_KINDS)}."
        )
    for period in actuals:
        if not 0 <= period < len(plan):
            raise ValueError(f"Check-in period {period} is outside the plan's {len(plan)} periods.")
    if not actuals:
        return NOT_STARTED

    through = max(actuals)
    if metric_kind == "cumulative":
        actual_to_date = sum(actuals.values(), Decimal(0))
        plan_to_date = sum(plan[: through + 1], Decimal(0))
        progress_pct = _percent(actual_to_date, target)
    else:
        actual_to_date = actuals[through] - start_value
        plan_to_date = plan[through] - start_value
        progress_pct = _percent(actual_to_date, target - start_value)

    if plan_to_date == 0:
        falling = metric_kind == "level" and target < start_value
        not_worse = actual_to_date <= 0 if falling else actual_to_date >= 0
        status = "on_track" if not_worse else "off_track"
        ratio = None
    else:
        exact = Fraction(actual_to_date) / Fraction(plan_to_date)
        if exact >= ON_TRACK:
            status = "on_track"
        elif exact >= AT_RISK:
            status = "at_risk"
        else:
            status = "off_track"
        ratio = _round_half_up(exact, 4)

    return Progress(
        status=status,
        actual_to_date=actual_to_date,
        plan_to_date=plan_to_date,
        ratio=ratio,
        progress_pct=progress_pct,
        through_period=through,
    )


def weighted_progress(items: list[tuple[Decimal, Decimal | None]]) -> Decimal | None:
    """An objective's progress: the weighted average of its KRs' progress (SPEC §2).

    `items` are (weight, progress_pct) pairs; a KR without progress (None) does
    not count. None when nothing counts (no progress, or a zero total weight).
    Rounded half up to 2 places.
    """
    total_weight = Fraction(0)
    weighted_sum = Fraction(0)
    for weight, pct in items:
        if weight < 0:
            raise ValueError(f"A weight must be >= 0, got {weight}.")
        if pct is None:
            continue
        total_weight += Fraction(weight)
        weighted_sum += Fraction(weight) * Fraction(pct)
    if total_weight == 0:
        return None
    return _round_half_up(weighted_sum / total_weight, 2)
