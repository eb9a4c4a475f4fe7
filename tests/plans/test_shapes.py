"""plans/shapes.py: presets that keep the exact target, and the plan centroid (SPEC §2, §4)."""

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from plans.shapes import (
    SHAPES,
    centroid,
    cumulative_shape,
    distribute,
    history_shape,
    level_shape,
    planned_by,
    quantum,
    rescaled,
)

D = Decimal
MAX_QUANTA = 10**12

ns = st.integers(min_value=1, max_value=60)
decimal_places = st.integers(min_value=0, max_value=4)
quanta = st.integers(min_value=0, max_value=MAX_QUANTA)
shapes = st.sampled_from(SHAPES)


def as_decimal(units: int, decimals: int) -> Decimal:
    return D(units).scaleb(-decimals)


def is_multiple(value: Decimal, decimals: int) -> bool:
    return (Fraction(value) * 10**decimals).denominator == 1


def deltas(values: list[Decimal], start: Decimal) -> list[Decimal]:
    return [b - a for a, b in zip([start, *values[:-1]], values, strict=True)]


# Examples


def test_it_gives_the_quantum_of_a_precision():
    assert quantum(2) == D("0.01")
    assert quantum(0) == D("1")
    assert quantum(4) == D("0.0001")


def test_it_splits_5m_over_3_months_linearly_to_the_cent():
    values = cumulative_shape("linear", D("5000000"), 3, 2)

    assert values == [D("1666666.67"), D("1666666.67"), D("1666666.66")]
    assert sum(values) == D("5000000")
    assert [v.as_tuple().exponent for v in values] == [-2, -2, -2]


def test_it_splits_10_over_3_in_whole_units():
    assert cumulative_shape("linear", D("10"), 3, 0) == [D(4), D(3), D(3)]
    assert cumulative_shape("front_loaded", D("10"), 3, 0) == [D(5), D(3), D(2)]
    assert cumulative_shape("back_loaded", D("10"), 3, 0) == [D(2), D(3), D(5)]


def test_it_shapes_an_nps_level_to_exactly_45():
    values = level_shape("linear", D("32"), D("45"), 3, 1)

    assert values == [D("36.4"), D("40.7"), D("45.0")]
    assert str(values[-1]) == "45.0"


def test_it_shapes_a_falling_level():
    assert level_shape("linear", D("5"), D("3"), 3, 1) == [D("4.3"), D("3.6"), D("3.0")]
    assert level_shape("front_loaded", D("5"), D("3"), 2, 0) == [D(4), D(3)]


def test_it_keeps_a_flat_level_flat():
    assert level_shape("back_loaded", D("7.5"), D("7.5"), 4, 1) == [D("7.5")] * 4


def test_it_shapes_after_history():
    history = [D(100), D(0), D(300)]

    assert history_shape(history, D("1000"), 0) == [D(250), D(0), D(750)]
    assert history_shape([D(1), D(1), D(1)], D("1"), 2) == [D("0.34"), D("0.33"), D("0.33")]


def test_it_gives_the_seed_article_centroids():
    assert centroid([D(600), D(300), D(100)]) == D("0.25")
    assert centroid([D(10), D(30), D(60)]) == D("0.75")
    assert centroid([D(0), D(0), D(5)]) == D(1)
    assert centroid([D(5), D(0), D(0)]) == D(0)


def test_it_has_no_centroid_for_one_period_or_nothing_planned():
    assert centroid([D(10)]) is None
    assert centroid([]) is None
    assert centroid([D(0), D(0), D(0)]) is None


def test_it_breaks_ties_toward_the_preferred_end():
    assert distribute(D(2), [D(1)] * 3, 0, prefer="first") == [D(1), D(1), D(0)]
    assert distribute(D(2), [D(1)] * 3, 0, prefer="last") == [D(0), D(1), D(1)]


def test_it_gives_nothing_to_a_zero_weight():
    assert distribute(D(5), [D(0), D(1), D(0), D(1)], 0) == [D(0), D(3), D(0), D(2)]


@pytest.mark.parametrize(
    ("total", "weights", "decimals", "message"),
    [
        (D("1.005"), [D(1)], 2, "multiple"),
        (D("-1"), [D(1)], 0, ">= 0"),
        (D("1"), [D(0), D(0)], 0, "positive sum"),
        (D("1"), [D(1), D(-1)], 0, ">= 0"),
        (D("1"), [], 0, "At least one"),
        (D("NaN"), [D(1)], 0, "finite"),
        (D("1"), [D("Infinity")], 0, "finite"),
    ],
)
def test_it_rejects_bad_distributions(total, weights, decimals, message):
    with pytest.raises(ValueError, match=message):
        distribute(total, weights, decimals)


def test_it_rejects_bad_shapes_and_precisions():
    with pytest.raises(ValueError, match="Unknown shape"):
        cumulative_shape("s_curve", D(10), 3, 0)
    with pytest.raises(ValueError, match="at least one period"):
        cumulative_shape("linear", D(10), 0, 0)
    with pytest.raises(ValueError, match="prefer"):
        distribute(D(10), [D(1)], 0, prefer="middle")
    with pytest.raises(ValueError, match="start value"):
        level_shape("linear", D("32.05"), D("45"), 3, 1)
    with pytest.raises(ValueError, match="target"):
        level_shape("linear", D("32"), D("45.05"), 3, 1)


def test_it_rejects_a_history_it_cannot_follow():
    with pytest.raises(ValueError, match="all zeros"):
        history_shape([D(0), D(0)], D(10), 0)
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        history_shape([D(5), D(-1)], D(10), 0)
    with pytest.raises(ValueError, match="no periods"):
        history_shape([], D(10), 0)


# Properties


@settings(max_examples=200, deadline=None)
@given(shape=shapes, n=ns, decimals=decimal_places, units=quanta)
def test_it_keeps_the_exact_target_at_the_precision(shape, n, decimals, units):
    target = as_decimal(units, decimals)
    values = cumulative_shape(shape, target, n, decimals)

    assert len(values) == n
    assert sum(values) == target
    assert all(v >= 0 and is_multiple(v, decimals) for v in values)
    assert all(v.as_tuple().exponent == -decimals for v in values)


@settings(max_examples=200, deadline=None)
@given(n=ns, decimals=decimal_places, units=quanta)
def test_it_keeps_linear_values_within_one_quantum(n, decimals, units):
    values = cumulative_shape("linear", as_decimal(units, decimals), n, decimals)

    assert max(values) - min(values) <= quantum(decimals)
    assert values == sorted(values, reverse=True)


@settings(max_examples=200, deadline=None)
@given(n=ns, decimals=decimal_places, units=quanta)
def test_it_never_raises_a_front_loaded_plan_nor_lowers_a_back_loaded_one(n, decimals, units):
    target = as_decimal(units, decimals)
    front = cumulative_shape("front_loaded", target, n, decimals)
    back = cumulative_shape("back_loaded", target, n, decimals)

    assert all(a >= b for a, b in itertools.pairwise(front))
    assert all(a <= b for a, b in itertools.pairwise(back))


@st.composite
def strict_cases(draw):
    n = draw(st.integers(min_value=2, max_value=60))
    decimals = draw(decimal_places)
    units = draw(st.integers(min_value=n * (n + 1) // 2, max_value=MAX_QUANTA))
    return n, decimals, units


@settings(max_examples=200, deadline=None)
@given(case=strict_cases())
def test_it_falls_front_loaded_and_rises_back_loaded_strictly_with_enough_target(case):
    n, decimals, units = case
    target = as_decimal(units, decimals)
    front = cumulative_shape("front_loaded", target, n, decimals)
    back = cumulative_shape("back_loaded", target, n, decimals)

    assert all(a > b for a, b in itertools.pairwise(front))
    assert all(a < b for a, b in itertools.pairwise(back))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=2, max_value=60), decimals=decimal_places)
def test_it_falls_strictly_at_the_smallest_target_that_allows_it(n, decimals):
    target = as_decimal(n * (n + 1) // 2, decimals)

    assert cumulative_shape("front_loaded", target, n, decimals) == [
        as_decimal(n - i, decimals) for i in range(n)
    ]


@settings(max_examples=200, deadline=None)
@given(n=ns, decimals=decimal_places, units=quanta)
def test_it_mirrors_front_loaded_into_back_loaded(n, decimals, units):
    target = as_decimal(units, decimals)

    assert cumulative_shape("back_loaded", target, n, decimals) == list(
        reversed(cumulative_shape("front_loaded", target, n, decimals))
    )


@settings(max_examples=200, deadline=None)
@given(
    shape=shapes,
    n=ns,
    decimals=decimal_places,
    start_units=st.integers(min_value=-MAX_QUANTA, max_value=MAX_QUANTA),
    target_units=st.integers(min_value=-MAX_QUANTA, max_value=MAX_QUANTA),
)
def test_it_moves_a_level_from_start_to_exactly_target(
    shape, n, decimals, start_units, target_units
):
    start = as_decimal(start_units, decimals)
    target = as_decimal(target_units, decimals)
    values = level_shape(shape, start, target, n, decimals)
    steps = deltas(values, start)

    assert len(values) == n
    assert values[-1] == target
    assert all(is_multiple(v, decimals) for v in values)
    if target >= start:
        assert all(step >= 0 for step in steps)
    else:
        assert all(step <= 0 for step in steps)
    assert [abs(s) for s in steps] == cumulative_shape(shape, abs(target - start), n, decimals)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60),
    decimals=decimal_places,
    units=quanta,
    prefer=st.sampled_from(["first", "last"]),
)
def test_it_distributes_within_one_quantum_of_each_exact_share(weights, decimals, units, prefer):
    assume(sum(weights) > 0)
    total = as_decimal(units, decimals)
    values = distribute(total, [D(w) for w in weights], decimals, prefer=prefer)

    assert sum(values) == total
    q = Fraction(quantum(decimals))
    for value, weight in zip(values, weights, strict=True):
        share = Fraction(total) * weight / sum(weights)
        assert -q < Fraction(value) - share < q
        if weight == 0:
            assert value == 0


@settings(max_examples=200, deadline=None)
@given(
    history=st.lists(
        st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=60,
    ),
    decimals=decimal_places,
    units=quanta,
)
def test_it_follows_history_to_the_exact_target(history, decimals, units):
    assume(sum(history) > 0)
    target = as_decimal(units, decimals)
    values = history_shape(history, target, decimals)

    assert sum(values) == target
    assert all(v >= 0 and is_multiple(v, decimals) for v in values)
    assert all(v == 0 for v, h in zip(values, history, strict=True) if h == 0)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=10**9), min_size=2, max_size=60))
def test_it_keeps_the_centroid_between_0_and_1_and_mirrors_it(values):
    assume(sum(values) > 0)
    forward = centroid([D(v) for v in values])
    backward = centroid([D(v) for v in reversed(values)])

    assert 0 <= forward <= 1
    assert abs(forward + backward - 1) < D("1e-20")


def test_it_rescales_a_flow_in_proportion_and_a_level_around_its_start():
    flow = dict(metric_kind="cumulative", start_value=D(0), old_target=D(10000), decimals=0)
    assert rescaled([D(3000), D(3000), D(4000)], target=D(8000), **flow) == [
        D(2400),
        D(2400),
        D(3200),
    ]
    assert rescaled([D(0)] * 3, target=D(10), **flow) == cumulative_shape("linear", D(10), 3, 0)
    with pytest.raises(ValueError, match="cannot be negative"):
        rescaled([D(1)] * 3, target=D(-1), **flow)
    level = dict(metric_kind="level", start_value=D(32), old_target=D(45), decimals=1)
    assert rescaled([D(36), D(40), D(45)], target=D(58), **level) == [D(40), D(48), D(58)]
    flat = dict(level, old_target=D(32))
    assert rescaled([D(32)] * 3, target=D(35), **flat) == level_shape("linear", D(32), D(35), 3, 1)


@dataclass
class _Period:
    index: int
    start: date
    end: date


QUARTER = [
    _Period(0, date(2026, 1, 1), date(2026, 1, 31)),
    _Period(1, date(2026, 2, 1), date(2026, 2, 28)),
    _Period(2, date(2026, 3, 1), date(2026, 3, 31)),
]


def test_it_gives_what_a_plan_delivers_by_a_date():
    values = [D(1), D(2), D(3)]
    by = dict(periods=QUARTER)
    assert planned_by(values, metric_kind="cumulative", on=date(2026, 2, 15), **by) == D(3)
    assert planned_by(values, metric_kind="level", on=date(2026, 2, 15), **by) == D(2)
    assert planned_by(values, metric_kind="level", on=date(2026, 4, 1), **by) is None
    assert planned_by(values, metric_kind="level", on=None, **by) is None
    assert planned_by(values[:1], metric_kind="level", on=date(2026, 3, 2), **by) is None


@given(n=ns, decimals=decimal_places, units=quanta, scale=st.integers(min_value=0, max_value=300))
@settings(max_examples=200)
def test_it_keeps_a_rescaled_flow_at_the_exact_target(n, decimals, units, scale):
    values = cumulative_shape("front_loaded", as_decimal(units, decimals), n, decimals)
    target = as_decimal(units * scale // 100, decimals)
    old = sum(values, D(0))
    out = rescaled(
        values,
        metric_kind="cumulative",
        start_value=D(0),
        old_target=old,
        target=target,
        decimals=decimals,
    )
    assert sum(out, D(0)) == target and len(out) == n
    assert all(v >= 0 and v == v.quantize(quantum(decimals)) for v in out)
