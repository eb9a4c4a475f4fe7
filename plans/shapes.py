"""Plan shapes and the plan centroid (SPEC §2 Plan, §4).

Pure functions over `Decimal`: no ORM. Presets keep the exact target: values are
quantized to the unit's precision (`decimals` places) and always sum to the
target, no quantum lost to rounding. The arithmetic is exact (integers and
`Fraction`), so no result depends on the decimal context's precision.
"""

from datetime import date
from decimal import Decimal
from fractions import Fraction

SHAPES = ("linear", "front_loaded", "back_loaded")
PREFERS = ("first", "last")


def quantum(decimals: int) -> Decimal:
    """The smallest step at `decimals` places: 2 -> 0.01, 0 -> 1."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}.")
    return Decimal(1).scaleb(-decimals)


def _to_quanta(value: Decimal, decimals: int, name: str) -> int:
    """`value` as a whole number of quanta; ValueError if it is not at that precision."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}.")
    scaled = Fraction(value) * 10**decimals
    if scaled.denominator != 1:
        raise ValueError(f"{name} {value} is not a multiple of {quantum(decimals)}.")
    return scaled.numerator


def _from_quanta(units: int, decimals: int) -> Decimal:
    """`units` quanta as a Decimal with exactly `decimals` places."""
    return Decimal(f"{units}E-{decimals}")  # built from a string: exact, no context rounding


def _weight(value: Decimal | int, position: int) -> Fraction:
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"Weight {position} must be finite, got {value}.")
    weight = Fraction(value)
    if weight < 0:
        raise ValueError(f"Weight {position} must be >= 0, got {value}.")
    return weight


def distribute(
    total: Decimal, weights: list[Decimal], decimals: int, prefer: str = "first"
) -> list[Decimal]:
    """Split `total` in proportion to `weights`, summing to exactly `total` (SPEC §2).

    Largest-remainder method on whole quanta: each exact share is floored to the
    quantum, then the quanta left over go one by one to the largest fractional
    remainders, ties broken by position (`prefer="first"`: earlier periods first;
    `"last"`: later periods first). A zero weight gets 0 (its remainder is 0 and
    the left-over count is always smaller than the number of positive
    remainders). Every value is within one quantum of its exact share.

    `total` must be >= 0 and a multiple of the quantum; weights must be >= 0
    with a positive sum.
    """
    if prefer not in PREFERS:
        raise ValueError(f"prefer must be one of {', '.join(PREFERS)}, got {prefer!r}.")
    units = _to_quanta(total, decimals, "The total")
    if units < 0:
        raise ValueError(f"The total must be >= 0, got {total}.")
    if not weights:
        raise ValueError("At least one weight is needed.")
    fractions = [_weight(w, i) for i, w in enumerate(weights)]
    weight_sum = sum(fractions, Fraction(0))
    if weight_sum <= 0:
        raise ValueError("The weights must have a positive sum.")

    shares = [units * w / weight_sum for w in fractions]
    floors = [share.numerator // share.denominator for share in shares]
    remainders = [share - floor for share, floor in zip(shares, floors, strict=True)]
    left_over = units - sum(floors)

    positions = range(len(shares))
    if prefer == "first":
        order = sorted(positions, key=lambda i: (-remainders[i], i))
    else:
        order = sorted(positions, key=lambda i: (-remainders[i], -i))
    for i in order[:left_over]:
        floors[i] += 1
    return [_from_quanta(units_i, decimals) for units_i in floors]


def cumulative_shape(shape: str, target: Decimal, n: int, decimals: int) -> list[Decimal]:
    """Per-period amounts of a preset `shape` over `n` periods, summing to `target`.

    `linear`: equal weights (the left-over quanta go to the earliest periods, so
    values differ by at most one quantum and never rise). `front_loaded`:
    weights n, n-1, ..., 1, ties to the earliest. `back_loaded`: weights
    1, ..., n, ties to the latest.

    Why front_loaded never rises, and falls strictly when n >= 2 and
    target >= quantum * n * (n + 1) / 2: in quanta, the exact shares are
    s_i = T * (n - i) / W with W = n(n + 1) / 2, so s_i - s_(i+1) = T / W = d.
    Value v_i = floor(s_i) + b_i with a bonus b_i in {0, 1}. If the floors are
    equal, s_i's remainder is at least s_(i+1)'s, and ties go to the earlier
    period, so b_i >= b_(i+1): v_i >= v_(i+1). If floor(s_i) >= floor(s_(i+1)) + 2,
    then v_i > v_(i+1) whatever the bonuses. Left is floor(s_i) = floor(s_(i+1)) + 1:
    writing s_(i+1) = f + r, s_i = f + 1 + (r + d - 1), so s_i's remainder is
    r + d - 1; with d >= 1 (the strictness condition, T >= W) it is >= r, hence
    b_i >= b_(i+1) again and v_i >= v_(i+1) + 1. Without the condition the
    floors may be equal and the values too (e.g. a target of 0). back_loaded is
    the mirror image (weights reversed, ties to the latest).
    """
    if n < 1:
        raise ValueError(f"A plan needs at least one period, got n={n}.")
    if shape == "linear":
        return distribute(target, [Decimal(1)] * n, decimals, prefer="first")
    if shape == "front_loaded":
        return distribute(target, [Decimal(n - i) for i in range(n)], decimals, prefer="first")
    if shape == "back_loaded":
        return distribute(target, [Decimal(i + 1) for i in range(n)], decimals, prefer="last")
    raise ValueError(f"Unknown shape {shape!r}; expected one of {', '.join(SHAPES)}.")


def level_shape(
    shape: str, start: Decimal, target: Decimal, n: int, decimals: int
) -> list[Decimal]:
    """Expected level at each period's end, from `start` to exactly `target` (SPEC §2).

    The per-period changes are `cumulative_shape(shape, |target - start|, ...)`
    with the sign of `target - start`, so a falling metric falls the same way a
    rising one rises. Start and target must be multiples of the quantum.
    """
    start_units = _to_quanta(start, decimals, "The start value")
    target_units = _to_quanta(target, decimals, "The target")
    change = target_units - start_units
    steps = cumulative_shape(shape, _from_quanta(abs(change), decimals), n, decimals)
    sign = -1 if change < 0 else 1
    level = start_units
    values = []
    for step in steps:
        level += sign * _to_quanta(step, decimals, "A step")
        values.append(_from_quanta(level, decimals))
    return values


def history_shape(history: list[Decimal], target: Decimal, decimals: int) -> list[Decimal]:
    """Per-period amounts proportional to `history`, summing to exactly `target` (SPEC §2, §7).

    Ties in the remainders go to the earliest periods.
    """
    if not history:
        raise ValueError("The history has no periods.")
    for i, value in enumerate(history):
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise ValueError(
                f"History value {i} is {value!r}: history values must be finite and >= 0."
            )
    if sum(history, Decimal(0)) <= 0:
        raise ValueError("The history is all zeros: nothing to shape the plan after.")
    return distribute(target, history, decimals, prefer="first")


def centroid(values: list[Decimal]) -> Decimal | None:
    """Plan centroid (SPEC §4): c = Σ i·v_i / ((n - 1) · Σ v_i).

    0 = everything in the first period, 1 = everything in the last. None when
    there are fewer than two periods or the values do not sum to a positive
    amount. The result is the exact quotient at the decimal context's precision.
    """
    n = len(values)
    total = sum(values, Decimal(0))
    if n < 2 or total <= 0:
        return None
    moment = sum((i * v for i, v in enumerate(values)), Decimal(0))
    return moment / ((n - 1) * total)


def rescaled(
    values: list[Decimal],
    *,
    metric_kind: str,
    start_value: Decimal,
    old_target: Decimal,
    target: Decimal,
    decimals: int,
) -> list[Decimal]:
    """A plan moved to a new target, keeping its shape (SPEC §3: a cascade's proposal is
    the stage's plan "scaled by the same factor"; a new target moves the plan with it).

    A flow (cumulative): its amounts in proportion, summing to `target` (linear when the
    plan is all zeros). A level: each value's distance from the start scaled by the
    change of the target, the last one exactly `target` (linear from the start when
    the plan or the old change is flat). Raises ValueError for a flow's negative target."""
    n = len(values)
    if metric_kind == "cumulative":
        if target < 0:
            raise ValueError(
                "A cumulative key result counts a flow: its target cannot be negative."
            )
        if sum(values, Decimal(0)) > 0:
            return history_shape(values, target, decimals)
        return cumulative_shape("linear", target, n, decimals)
    old_change = old_target - start_value
    if all(v == 0 for v in values) or old_change == 0:
        return level_shape("linear", start_value, target, n, decimals)
    step = quantum(decimals)
    scale = (target - start_value) / old_change
    scaled = [(start_value + (v - start_value) * scale).quantize(step) for v in values]
    scaled[-1] = target
    return scaled


def planned_by(
    values: list[Decimal], *, metric_kind: str, periods: list, on: date | None
) -> Decimal | None:
    """What a plan delivers by the date `on`: a flow (cumulative), the sum through the
    period holding that date; a level, the planned level of that period. None when no
    period of the plan holds it. `periods`: the cycle's (each with `index`, `start`,
    `end`)."""
    if on is None:
        return None
    index = next((p.index for p in periods if p.start <= on <= p.end), None)
    if index is None or index >= len(values):
        return None
    if metric_kind == "cumulative":
        return sum(values[: index + 1], Decimal(0))
    return values[index]
