"""plans/trajectory.py: the burn-up of a KR and its forecast at the current pace."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from plans.progress import _round_half_up
from plans.trajectory import burnup, stage_ratios, today_position

D = Decimal


def flow(plan, actuals, target=None):
    return burnup(
        metric_kind="cumulative",
        start_value=D(0),
        target=sum(map(D, plan), D(0)) if target is None else D(target),
        plan=[D(v) for v in plan],
        actuals={p: D(v) for p, v in actuals.items()},
    )


def level(start, target, plan, actuals):
    return burnup(
        metric_kind="level",
        start_value=D(start),
        target=D(target),
        plan=[D(v) for v in plan],
        actuals={p: D(v) for p, v in actuals.items()},
    )


# --- Examples -----------------------------------------------------------------------


def test_a_flow_runs_up_from_zero_through_the_latest_check_in():
    result = flow([1000000, 1000000, 1000000], {0: 800000, 1: 900000})

    assert result.planned == [D(1000000), D(2000000), D(3000000)]
    assert result.actual == [D(800000), D(1700000)]
    assert result.through == 1


def test_a_flow_at_its_pace_falls_short_by_what_the_pace_leaves():
    """1,700,000 in two months: 850,000 a month, 2,550,000 by the end of a 3,000,000 plan."""
    forecast = flow([1000000, 1000000, 1000000], {0: 800000, 1: 900000}).forecast

    assert forecast.pace == D(850000)
    assert forecast.projected == [D(2550000)]
    assert forecast.end == D(2550000)
    assert forecast.reaches is None
    assert forecast.short_by == D(450000)


def test_a_flow_ahead_of_plan_reaches_the_target_in_a_projected_period():
    """1,200,000 in January: at that pace 2,400,000 by February, 3,600,000 by March."""
    forecast = flow([1000000, 1000000, 1000000], {0: 1200000}).forecast

    assert forecast.projected == [D(2400000), D(3600000)]
    assert forecast.reaches == 2
    assert forecast.short_by is None


def test_a_target_met_by_a_check_in_is_reached_in_that_period():
    forecast = flow([100, 100, 100], {0: 200, 1: 150}).forecast

    assert forecast.reaches == 1  # 350 ≥ 300 at the end of February


def test_a_period_without_a_check_in_counts_zero_for_a_flow():
    result = flow([100, 100, 100], {0: 100, 2: 50})

    assert result.actual == [D(100), D(100), D(150)]
    assert result.forecast.pace == D(50)
    assert result.forecast.short_by == D(150)


def test_a_level_runs_from_its_start_value_and_skips_periods_without_a_check_in():
    """NPS from 32 to 45: 36 in January, nothing in February."""
    result = level(32, 45, ["36.3", "40.7", "45"], {0: 36})

    assert result.origin == D(32)
    assert result.planned == [D("36.3"), D("40.7"), D(45)]
    assert result.actual == [D(36)]
    assert result.forecast.pace == D(4)  # 4 points a month
    assert result.forecast.projected == [D(40), D(44)]
    assert result.forecast.short_by == D(1)


def test_a_falling_level_reaches_its_target_going_down():
    """Churn from 5% to 3%: 4.2 in January, 3.4 in February, at 0.8 a month: 2.6 in March."""
    result = level(5, 3, ["4.3", "3.6", "3"], {0: "4.2", 1: "3.4"})

    assert result.forecast.pace == D("-0.8")
    assert result.forecast.reaches == 2
    assert result.actual == [D("4.2"), D("3.4")]


def test_no_forecast_before_the_first_check_in():
    result = flow([100, 100, 100], {})

    assert result.forecast is None
    assert result.actual == []
    assert result.through is None


def test_the_last_period_checked_in_leaves_nothing_to_project():
    forecast = flow([100, 100], {0: 50, 1: 60}).forecast

    assert forecast.projected == []
    assert forecast.end == D(110)
    assert forecast.short_by == D(90)


def test_figures_are_rounded_for_the_page_only():
    """10 in three months: 3.333… a month, exactly 20 by the end of six: reached, though
    the rounded pace (3.333333 × 3 = 9.999999) would fall short."""
    forecast = flow([0] * 6, {0: 10, 1: 0, 2: 0}, target=20).forecast

    assert forecast.pace == D("3.333333")
    assert forecast.end == D(20)
    assert forecast.reaches == 5
    assert forecast.projected == [D("13.333333"), D("16.666667"), D(20)]


@pytest.mark.parametrize(
    ("today", "position"),
    [
        (date(2026, 1, 1), Fraction(0)),
        (date(2026, 1, 17), Fraction(16, 31)),
        (date(2026, 2, 15), 1 + Fraction(14, 28)),
        (date(2026, 3, 31), 2 + Fraction(30, 31)),
        (date(2025, 12, 31), None),
        (date(2026, 4, 1), None),
    ],
)
def test_today_falls_between_the_periods_by_the_days_gone(today, position):
    periods = [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]
    assert today_position(periods, today) == position


def test_a_stage_ratio_is_its_actual_over_the_previous_stages_through_both_check_ins():
    """Visitors 3,000 and 2,500 in two months, trials 450 in the first only: 450 / 3,000."""
    ratios = stage_ratios(
        [
            (1, {0: D(3000), 1: D(2500)}, None, None),
            (2, {0: D(450)}, D("0.2"), D("0.18")),
            (3, {}, D("0.25"), None),
        ]
    )

    assert [(r.id, r.actual, r.through) for r in ratios] == [(2, D("0.15"), 0), (3, None, None)]
    assert ratios[0].reference == D("0.2") and ratios[0].historical == D("0.18")


# --- Properties ---------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**7)
periods = st.integers(min_value=1, max_value=13)


@st.composite
def flows(draw):
    n = draw(periods)
    plan = draw(st.lists(amounts, min_size=n, max_size=n))
    checked = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    actuals = {p: draw(amounts) for p in checked}
    target = draw(st.integers(0, 10**8))
    return plan, actuals, target


def _exact_projection(actuals, n, target):
    through = max(actuals)
    total = Fraction(sum(actuals.values()))
    pace = total / (through + 1)
    running, seen = 0, []
    for p in range(through + 1):
        running += actuals.get(p, 0)
        seen.append(Fraction(running))
    seen += [total + pace * (p - through) for p in range(through + 1, n)]
    return seen, seen[-1]


@given(flows())
def test_it_reaches_the_target_in_the_first_period_whose_figure_reaches_it(case):
    plan, actuals, target = case
    forecast = flow(plan, actuals, target=target).forecast
    figures, end = _exact_projection(actuals, len(plan), target)

    if forecast.reaches is None:
        assert all(f < target for f in figures)
        assert forecast.short_by == _round_half_up(target - end, 6)
        assert target - end > 0
    else:
        assert figures[forecast.reaches] >= target
        assert all(f < target for f in figures[: forecast.reaches])
        assert forecast.short_by is None


@given(flows(), st.integers(0, 10**6))
def test_more_actual_never_reaches_later_nor_falls_shorter(case, more):
    plan, actuals, target = case
    period = max(actuals)
    better = {**actuals, period: actuals[period] + more}
    before = flow(plan, actuals, target=target).forecast
    after = flow(plan, better, target=target).forecast

    if before.reaches is not None:
        assert after.reaches is not None and after.reaches <= before.reaches
    if after.reaches is None:
        assert after.short_by <= before.short_by


@given(periods, st.integers(1, 10**6))
def test_actuals_that_follow_a_linear_plan_reach_its_target_in_the_last_period(n, amount):
    plan = [amount] * n
    for through in range(n):
        forecast = flow(plan, dict.fromkeys(range(through + 1), amount)).forecast
        assert forecast.reaches == n - 1
        assert forecast.end == D(amount * n)


@given(flows())
def test_a_forecast_continues_the_average_of_the_periods_so_far(case):
    plan, actuals, target = case
    result = flow(plan, actuals, target=target)
    _, end = _exact_projection(actuals, len(plan), target)

    assert len(result.forecast.projected) == len(plan) - 1 - result.through
    assert abs(result.forecast.end - D(end.numerator) / D(end.denominator)) <= D("0.0000005")
    assert result.planned[-1] == sum(map(D, plan), D(0))


@given(
    periods.flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.integers(-1000, 1000), min_size=n, max_size=n),
            st.dictionaries(st.integers(0, n - 1), st.integers(-1000, 1000), min_size=1),
        )
    ),
    st.integers(-1000, 1000),
    st.integers(-1000, 1000),
)
def test_a_falling_level_forecasts_as_the_mirrored_rising_one(case, start, target):
    """A level going down is the same trajectory as its mirror image going up."""
    _n, plan, actuals = case
    assume(target != start)
    down = level(start, target, plan, actuals)
    up = level(-start, -target, [-v for v in plan], {p: -v for p, v in actuals.items()})

    assert down.forecast.reaches == up.forecast.reaches
    assert down.forecast.short_by == up.forecast.short_by
    assert down.forecast.pace == -up.forecast.pace
    assert [-v for v in down.forecast.projected] == up.forecast.projected
