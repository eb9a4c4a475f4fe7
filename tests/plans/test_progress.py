"""plans/progress.py: status and progress of a KR against its plan (SPEC §2, API.md)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plans.progress import Progress, progress, weighted_progress

D = Decimal
ZERO = D(0)


def cumulative(plan, actuals, target=None, start_value=ZERO):
    return progress(
        metric_kind="cumulative",
        start_value=start_value,
        target=sum(plan, D(0)) if target is None else target,
        plan=plan,
        actuals=actuals,
    )


def level(start_value, target, plan, actuals):
    return progress(
        metric_kind="level", start_value=start_value, target=target, plan=plan, actuals=actuals
    )


PLAN = [D(100), D(100), D(100)]


def test_it_is_not_started_without_check_ins():
    assert cumulative(PLAN, {}) == Progress(
        status="not_started",
        actual_to_date=None,
        plan_to_date=None,
        ratio=None,
        progress_pct=None,
        through_period=None,
    )
    assert level(D(32), D(45), [D("36.3"), D("40.7"), D("45.0")], {}).status == "not_started"


@pytest.mark.parametrize(
    ("actual", "status", "ratio"),
    [
        (D(90), "on_track", D("0.9000")),
        (D("89.99"), "at_risk", D("0.8999")),
        (D(70), "at_risk", D("0.7000")),
        (D("69.99"), "off_track", D("0.6999")),
        (D(0), "off_track", D("0.0000")),
        (D(150), "on_track", D("1.5000")),
    ],
)
def test_it_sets_the_status_at_the_90_and_70_percent_thresholds(actual, status, ratio):
    result = cumulative(PLAN, {0: actual})

    assert result.status == status
    assert result.ratio == ratio
    assert result.actual_to_date == actual
    assert result.plan_to_date == D(100)
    assert result.through_period == 0


def test_it_compares_the_exact_ratio_not_the_rounded_one():
    # 0.899996 shows as 0.9000 but is below 90% of the plan.
    result = cumulative([D(1000000)], {0: D(899996)})

    assert result.ratio == D("0.9000")
    assert result.status == "at_risk"


def test_it_counts_a_period_without_check_in_as_zero():
    result = cumulative(PLAN, {0: D(100), 2: D(140)})

    assert result.through_period == 2
    assert result.actual_to_date == D(240)
    assert result.plan_to_date == D(300)
    assert result.ratio == D("0.8000")
    assert result.status == "at_risk"
    assert result.progress_pct == D("80.00")


def test_it_measures_cumulative_progress_against_the_target():
    result = cumulative([D(600), D(300), D(100)], {0: D(550)})

    assert result.status == "on_track"
    assert result.ratio == D("0.9167")
    assert result.progress_pct == D("55.00")


def test_it_measures_a_level_metric_from_its_start_value():
    result = level(D(32), D(45), [D("36.3"), D("40.7"), D("45.0")], {0: D(35), 1: D(39)})

    assert result.through_period == 1
    assert result.actual_to_date == D(7)
    assert result.plan_to_date == D("8.7")
    assert result.ratio == ((D(39) - D(32)) / (D("40.7") - D(32))).quantize(D("0.0001"))
    assert result.ratio == D("0.8046")
    assert result.status == "at_risk"
    assert result.progress_pct == D("53.85")  # 7 / 13


def test_it_measures_a_falling_metric_in_its_direction():
    plan = [D("4.3"), D("3.6"), D("3.0")]

    on_track = level(D(5), D(3), plan, {0: D(4)})
    assert on_track.actual_to_date == D(-1)
    assert on_track.plan_to_date == D("-0.7")
    assert on_track.ratio == D("1.4286")
    assert on_track.status == "on_track"
    assert on_track.progress_pct == D("50.00")

    wrong_way = level(D(5), D(3), plan, {1: D("5.5")})
    assert wrong_way.ratio == D("-0.3571")
    assert wrong_way.status == "off_track"
    assert wrong_way.progress_pct == D("-25.00")


def test_it_is_on_track_when_nothing_was_planned_yet_and_nothing_was_lost():
    result = cumulative([D(0), D(100)], {0: D(0)})

    assert result.status == "on_track"
    assert result.ratio is None
    assert result.plan_to_date == D(0)
    assert cumulative([D(0), D(100)], {0: D(-5)}).status == "off_track"


def test_it_reads_a_flat_level_plan_in_the_planned_direction():
    rising = [D(32), D(40), D(45)]
    assert level(D(32), D(45), rising, {0: D(33)}).status == "on_track"
    assert level(D(32), D(45), rising, {0: D(32)}).status == "on_track"
    assert level(D(32), D(45), rising, {0: D(31)}).status == "off_track"

    falling = [D(5), D(4), D(3)]
    assert level(D(5), D(3), falling, {0: D("4.5")}).status == "on_track"
    assert level(D(5), D(3), falling, {0: D("5.5")}).status == "off_track"
    assert level(D(5), D(3), falling, {0: D("5.5")}).ratio is None


def test_it_has_no_progress_pct_for_a_zero_target():
    assert cumulative([D(0), D(0)], {0: D(5)}, target=D(0)).progress_pct is None
    assert level(D(7), D(7), [D(7), D(7)], {1: D(8)}).progress_pct is None
    assert level(D(7), D(7), [D(7), D(7)], {1: D(8)}).status == "on_track"


def test_it_rounds_half_up():
    assert cumulative([D(3)], {0: D(2)}).progress_pct == D("66.67")
    assert cumulative([D(3)], {0: D(1)}).progress_pct == D("33.33")
    assert cumulative([D(80000)], {0: D(1)}).ratio == D("0.0000")
    assert cumulative([D(20000)], {0: D(1)}).ratio == D("0.0001")  # 0.00005 rounds up


def test_it_rejects_check_ins_outside_the_plan_and_unknown_kinds():
    with pytest.raises(ValueError, match="outside"):
        cumulative(PLAN, {3: D(1)})
    with pytest.raises(ValueError, match="metric_kind"):
        progress(metric_kind="ratio", start_value=D(0), target=D(1), plan=[D(1)], actuals={})


@settings(max_examples=200, deadline=None)
@given(
    plan=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=13),
    data=st.data(),
)
def test_it_agrees_with_the_thresholds_for_any_cumulative_plan(plan, data):
    through = data.draw(st.integers(min_value=0, max_value=len(plan) - 1))
    actual = data.draw(st.integers(min_value=0, max_value=2 * 10**7))
    result = cumulative([D(v) for v in plan], {through: D(actual)})
    planned = sum(plan[: through + 1])

    assert result.through_period == through
    expected = (
        "on_track"
        if 10 * actual >= 9 * planned
        else "at_risk"
        if 10 * actual >= 7 * planned
        else "off_track"
    )
    assert result.status == expected
    assert abs(result.ratio - D(actual) / D(planned)) <= D("0.00005")


def test_it_weights_the_progress_of_key_results():
    assert weighted_progress([(D(1), D(50)), (D(1), D(100))]) == D("75.00")
    assert weighted_progress([(D(3), D(40)), (D(1), D(80))]) == D("50.00")
    assert weighted_progress([(D(1), D(10)), (D(2), D(20)), (D(0), D(90))]) == D("16.67")


def test_it_leaves_out_key_results_without_progress():
    assert weighted_progress([(D(1), D(60)), (D(5), None)]) == D("60.00")
    assert weighted_progress([(D(1), None)]) is None
    assert weighted_progress([]) is None
    assert weighted_progress([(D(0), D(50))]) is None


def test_it_rejects_a_negative_weight():
    with pytest.raises(ValueError, match="weight"):
        weighted_progress([(D(-1), D(50))])
