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


# --- Who is told of a plan change (SPEC.md §5) ------------------------------------
# One decision for the reaction to a save (`services.on_plan_changed`) and for the
# preview of the same change (`selectors.plan_preview`): they cannot disagree.


@dataclass(frozen=True)
class AncestorChange:
    """An ancestor whose aggregate total the change moves, from `before` to `after`."""

    kr_id: int
    owner_id: int
    rule: Rule
    locked: bool
    baseline: Decimal | None
    before: Decimal
    after: Decimal


@dataclass(frozen=True)
class SharedKR:
    """The changed KR's parent, as far as a modification round is concerned."""

    kr_id: int
    owner_id: int
    cross_functional: bool
    # the change belongs to an open round of it (`services.round_joined`): none starts
    open_round_joined: bool = False


@dataclass(frozen=True)
class StageChange:
    """A later stage of a sequential parent whose implied target the change moves."""

    kr_id: int
    owner_id: int
    stage: int
    target: Decimal  # its target now
    proposed_target: Decimal  # its implied target after the change, at its precision
    asked: frozenset  # the targets its open cascade reviews propose already


@dataclass(frozen=True)
class Told:
    user_id: int
    kind: str  # "threshold" or "change" (upward), "step" (a round starts), "review"
    kr_id: int  # what they are told about: the ancestor, the shared KR, the stage
    decision: UpwardDecision | None = None  # upward: the rule's decision
    ancestor: AncestorChange | None = None  # upward: the total that moved
    stage: StageChange | None = None  # review: the proposal


@dataclass(frozen=True)
class Audience:
    # every ancestor's upward decision, by KR id: one that notifies resets the baseline,
    # even when the person to tell made the change
    decisions: dict
    told: list  # of `Told`: the upward notices, the round's step, the cascade reviews
    starts_round: bool  # a new modification round


def plan_change_audience(
    *,
    actor_id: int | None,
    ancestors: list[AncestorChange],
    parent: SharedKR | None,
    is_modification: bool,
    accepted_cascade: bool,
    stages: list[StageChange],
) -> Audience:
    """Who is told of a plan change, and why.

    Upward: each ancestor's owner, as its rule decides, unless they made the change. A
    modification of a locked plan (not an accepted cascade) under a cross-functional
    parent starts a round, unless it belongs to an open one: the parent's owner must
    send the impact notice. A sequential
    parent's later stages whose implied target moves, at their precision, get a cascade
    review, unless one proposing that target is open already."""
    decisions, told = {}, []
    for ancestor in ancestors:
        decision = upward_decision(
            rule=ancestor.rule,
            locked=ancestor.locked,
            baseline=ancestor.baseline,
            before=ancestor.before,
            after=ancestor.after,
        )
        decisions[ancestor.kr_id] = decision
        if decision.notify and ancestor.owner_id != actor_id:
            told.append(
                Told(
                    ancestor.owner_id,
                    decision.kind,
                    ancestor.kr_id,
                    decision=decision,
                    ancestor=ancestor,
                )
            )
    starts_round = (
        is_modification
        and not accepted_cascade
        and parent is not None
        and parent.cross_functional
        and not parent.open_round_joined
    )
    if starts_round:
        told.append(Told(parent.owner_id, "step", parent.kr_id))
    for stage in stages:
        if stage.proposed_target not in stage.asked:
            told.append(Told(stage.owner_id, "review", stage.kr_id, stage=stage))
    return Audience(decisions=decisions, told=told, starts_round=starts_round)


def stage_changes(proposals: list, *, krs: dict, asked: dict | None = None) -> list[StageChange]:
    """The stages of `proposals` (`rollup.cascade_proposals`) whose implied target, at
    their unit's precision, differs from their target. `krs`: {stage's KR id: (owner
    id, target, decimals)}; `asked`: {stage's KR id: the targets its open cascade
    reviews propose}."""
    changes = []
    for stage in proposals:
        owner_id, target, decimals = krs[stage.id]
        proposed = stage.implied_target.quantize(
            Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP
        )
        if proposed != target:
            changes.append(
                StageChange(
                    kr_id=stage.id,
                    owner_id=owner_id,
                    stage=stage.stage,
                    target=target,
                    proposed_target=proposed,
                    asked=frozenset((asked or {}).get(stage.id, ())),
                )
            )
    return changes
