"""The propagation rules of SPEC.md §5 as plain functions: no ORM."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Rule:
    upward: str = "threshold"
    threshold_pct: Decimal = Decimal(10)
    downward: str = "notify"


class UpwardKind(StrEnum):
    """Why the parent owner is told (the values of `NotificationKind`'s first two)."""

    THRESHOLD = "threshold"
    CHANGE = "change"


@dataclass(frozen=True)
class UpwardDecision:
    notify: bool
    kind: UpwardKind | None
    moved_pct: Decimal | None  # from the baseline, when there is one
    new_baseline: Decimal | None  # what the baseline becomes (reset at each notice)


def moved_pct(baseline: Decimal, total: Decimal) -> Decimal | None:
    if baseline == 0:
        return None
    return ((total - baseline) / abs(baseline) * HUNDRED).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def upward_decision(
    *, rule: Rule, locked: bool, baseline: Decimal | None, before: Decimal, after: Decimal
) -> UpwardDecision:
    """Does a change of the aggregate from `before` to `after` notify the parent owner?

    Before the parent is locked there is no baseline: drafts are not news. With
    `threshold`, the total is measured against the baseline (taken at lock, reset at
    each notice), so small changes accumulate until they cross the threshold.
    """
    if not locked or rule.upward == "none" or before == after:
        return UpwardDecision(False, None, None, baseline)
    if rule.upward == "notify":
        return UpwardDecision(
            True, UpwardKind.CHANGE, moved_pct(baseline, after) if baseline else None, after
        )
    if baseline is None:
        return UpwardDecision(False, None, None, baseline)
    moved = moved_pct(baseline, after)
    crossed = (after != baseline) if moved is None else abs(moved) >= rule.threshold_pct
    if crossed:
        return UpwardDecision(True, UpwardKind.THRESHOLD, moved, after)
    return UpwardDecision(False, None, moved, baseline)
