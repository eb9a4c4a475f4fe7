"""Writes of the plans app: the only place a plan, a check-in or history is saved.

Every service is keyword-only and atomic. A plan save locks the plans of the KR
and of its ancestors in one query, in one global order (root first: the one lock
order of okrplan/lib/locks.py, before any round or step), then
recomputes each ancestor's effective plan from its children's stored values
(deepest first): the cost grows with the depth of the tree, not with the size
of the organization, and a recompute repairs rather than drifts.
"""

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Length
from django.utils import timezone

from hierarchy.events import (
    FunnelReordered,
    KeyResultCreated,
    KeyResultDeleted,
    KeyResultMoved,
    KeyResultWriting,
)
from hierarchy.models import KeyResult, MetricKind
from hierarchy.permissions import (
    kr_require_edit,
    lock_require,
    plan_require_edit,
    target_require_change,
)
from hierarchy.services import validate_number, validate_target
from okrplan.lib import locks
from okrplan.lib.errors import StaleVersion
from okrplan.lib.events import publish
from okrplan.lib.text import validate_text
from plans import chain, rollup, shapes
from plans.checks import num
from plans.events import AncestorFacts, CheckInRecorded, PlanChanged, PlanLocked
from plans.models import (
    Cause,
    CheckIn,
    HistoryPoint,
    Plan,
    PlanRevision,
    PlanStatus,
    Shape,
    decimals_to_json,
)
from plans.selectors import children_of

User = get_user_model()
ZERO = Decimal(0)


# --- Reading the rollup's inputs ------------------------------------------


def rollup_child(plan: Plan) -> rollup.Child:
    return rollup.child_of(plan.kr, plan)


def children_plans(*, organization_id: int, parent_id: int) -> list[Plan]:
    """The plans of a KR's children with their KRs, in funnel order: one query."""
    return list(
        Plan.objects.filter(organization_id=organization_id, kr__parent_id=parent_id)
        .select_related("kr")
        .order_by("kr__stage", "kr_id")
    )


def _lock_chain(kr: KeyResult) -> dict[int, Plan]:
    """Lock the plans of the KR and its ancestors, root first, in one query (the one
    lock order: okrplan/lib/locks.py).

    Each plan comes with its KR (and the KR's cycle and organization) and
    `has_children`, so the save needs no other read of them."""
    return chain.chain_lock_of(kr)


@dataclass(frozen=True)
class RollupResult:
    # {kr_id: (aggregate total before, after)} of every ancestor, deepest first
    totals: dict


def _as_child(kr: KeyResult, plan: Plan, effective: list[Decimal]) -> rollup.Child:
    return rollup.child_of(kr, plan, effective_values=effective)


def _ancestors_recomputed(
    kr: KeyResult,
    locked: dict[int, Plan],
    children_by_parent: dict[int, list[rollup.Child]],
    was: rollup.Child | None = None,
    changed: rollup.Child | None = None,
) -> tuple[RollupResult, dict[int, list[str]]]:
    """Each ancestor's effective plan recomputed from its children's stored values,
    deepest first (no running deltas: a recompute repairs rather than drifts), and the
    changed ones as {plan id: plan} (their `effective_json` set), to be written
    (`_effective_write`). Reads and writes nothing.

    `changed` is the KR as it is now when its change is not written yet; each ancestor
    sees the recomputed one below it. `was` is the KR as it was before, so that each
    ancestor's aggregate total before the change can be reported (the upward rule
    compares the two)."""
    overlap = kr.organization.overlap_factor
    totals, written = {}, {}
    now = changed
    for ancestor_id in reversed(kr.ancestor_ids):
        plan = locked[ancestor_id]
        ancestor = plan.kr
        children = children_by_parent.get(ancestor_id, [])
        if now is not None:
            children = [now if c.id == now.id else c for c in children]
        old_effective = plan.effective_values
        before_children = (
            [was if c.id == was.id else c for c in children] if was is not None else children
        )
        before = rollup.aggregate_total(
            aggregation=ancestor.aggregation,
            metric_kind=ancestor.metric_kind,
            effective=old_effective,
            children=before_children,
            overlap_factor=overlap,
        )
        effective = rollup.effective_values(
            aggregation=ancestor.aggregation, own_values=plan.values, children=children
        )
        if effective != old_effective:
            plan.effective_values = effective
            written[plan.pk] = plan
        after = rollup.aggregate_total(
            aggregation=ancestor.aggregation,
            metric_kind=ancestor.metric_kind,
            effective=effective,
            children=children,
            overlap_factor=overlap,
        )
        totals[ancestor_id] = (before, after)
        was = _as_child(ancestor, plan, old_effective)
        now = _as_child(ancestor, plan, effective)
    return RollupResult(totals=totals), written


def _children_of_ancestors(kr: KeyResult) -> dict[int, list[rollup.Child]]:
    if not kr.ancestor_ids:
        return {}
    return children_of(organization_id=kr.organization_id, parent_ids=kr.ancestor_ids)


def _effective_write(written: dict[int, Plan]) -> None:
    """The recomputed effective plans of the ancestors, in one UPDATE."""
    if written:
        Plan.objects.bulk_update(written.values(), ["effective_json"])


def _recompute_ancestors(kr: KeyResult, locked: dict[int, Plan]) -> RollupResult:
    """After a change already written (a lock, a KR added, moved or removed): read the
    children of every ancestor in one statement, write the changed effective plans in
    another."""
    result, written = _ancestors_recomputed(kr, locked, _children_of_ancestors(kr))
    _effective_write(written)
    return result


def _aggregate_total(kr: KeyResult, plan: Plan, children, overlap_factor) -> Decimal:
    return rollup.aggregate_total(
        aggregation=kr.aggregation,
        metric_kind=kr.metric_kind,
        effective=plan.effective_values,
        children=children,
        overlap_factor=overlap_factor,
    )


def rollup_ancestors(*, kr: KeyResult) -> RollupResult:
    """After a change that is not a plan save (a KR added, moved, removed)."""
    if not kr.ancestor_ids:
        return RollupResult(totals={})
    locked = _lock_chain(kr)
    return _recompute_ancestors(kr, locked)


# --- Plans ------------------------------------------------------------------


def _period_count(kr: KeyResult) -> int:
    return len(kr.cycle.periods)


def plan_target(kr: KeyResult, values: list[Decimal]) -> Decimal:
    """A saved plan carries the KR's target: a flow's total, a level's last value."""
    return rollup.plan_total(kr.metric_kind, values)


def validate_plan_values(kr: KeyResult, values: list[Decimal]) -> None:
    n = _period_count(kr)
    if len(values) != n:
        raise ValidationError(
            {"values": [f"Give exactly one value per period: {n} values, not {len(values)}."]}
        )
    for i, value in enumerate(values):
        label = kr.cycle.periods[i].label
        try:
            validate_number("values", value, kr.decimals, kr.unit)
        except ValidationError as error:
            message = error.message_dict["values"][0]
            raise ValidationError({"values": [f"{label} (value {i + 1}): {message}"]}) from None
        if kr.metric_kind == MetricKind.CUMULATIVE and value < 0:
            raise ValidationError(
                {
                    "values": [
                        f"{label} (value {i + 1}): a cumulative key result counts a flow, "
                        f"so its plan values cannot be negative (got {value})."
                    ]
                }
            )
    total = plan_target(kr, values)
    validate_number("values", total, kr.decimals, kr.unit)
    validate_target(kr, total, "values")  # a saved plan carries the target


@transaction.atomic
def plan_create_initial(*, kr: KeyResult) -> Plan:
    """A KR starts with a draft plan of zeros: not planned yet."""
    zeros = [ZERO] * _period_count(kr)
    plan = Plan(organization_id=kr.organization_id, kr=kr)
    plan.values = zeros
    plan.effective_values = zeros
    plan.save()
    return plan


@transaction.atomic
def plan_update(
    *,
    kr: KeyResult,
    values: list[Decimal],
    version: int,
    actor: User | None,
    rationale: str | None = None,
    cause: str = Cause.EDIT,
    shape: str = Shape.CUSTOM,
) -> Plan:
    """Save a KR's plan: the only place a plan's values change.

    Checks who may (`plan_require_edit`: a parent's plan is its owner's), the version
    (StaleVersion → 409), the values, and that a change to a locked plan (a
    modification) carries a rationale. Keeps the KR's target equal
    to the plan's total (or last value), records a revision, recomputes the
    ancestors' effective plans and publishes `PlanChanged`.
    """
    validate_text("rationale", rationale)
    locked = _lock_chain(kr)
    plan = locked[kr.pk]
    kr = plan.kr  # the row as locked, with the current target
    plan_require_edit(actor, kr, has_children=plan.has_children)
    if version != plan.version:
        raise StaleVersion(plan.version)
    rationale = (rationale or "").strip()
    if plan.is_locked and not rationale:
        raise ValidationError(
            {
                "rationale": [
                    "This plan is locked: changing it is a modification, so say why "
                    "(the rationale is shared with the other departments)."
                ]
            }
        )
    validate_plan_values(kr, values)
    before_values, before_target = plan.values, kr.target
    before_effective = plan.effective_values
    after_target = plan_target(kr, values)
    was = _as_child(kr, plan, before_effective)

    plan.values = values
    plan.shape = shape
    plan.version += 1
    if kr.aggregation == "parallel" or not plan.has_children:
        plan.effective_values = values  # its effective plan is its own plan
    if plan.status == PlanStatus.SUBMITTED:
        plan.status = PlanStatus.DRAFT  # a changed plan is submitted again
        plan.submitted_at = None
    kr.target = after_target
    # Read the children before writing (the chain is locked: siblings' saves wait on
    # it), recompute with the KR as it is now, then write.
    result, effective_written = _ancestors_recomputed(
        kr, locked, _children_of_ancestors(kr), was, _as_child(kr, plan, plan.effective_values)
    )
    revision = PlanRevision(
        organization_id=kr.organization_id,
        plan=plan,
        kr=kr,
        version=plan.version,
        before_values=decimals_to_json(before_values),
        after_values=plan.values_json,
        before_target=before_target,
        after_target=after_target,
        shape=shape,
        cause=cause,
        rationale=rationale,
        is_modification=plan.is_locked,
        actor=actor,
    )
    plan.save(
        update_fields=[
            "values_json",
            "effective_json",
            "shape",
            "version",
            "status",
            "submitted_at",
            "updated_at",  # auto_now
        ]
    )
    if after_target != before_target:
        kr.save(update_fields=["target"])
    _effective_write(effective_written)
    revision.save()
    publish(
        PlanChanged(
            organization_id=kr.organization_id,
            plan_id=plan.pk,
            kr_id=kr.pk,
            parent_id=kr.parent_id,
            has_children=plan.has_children,
            has_expectations=plan.has_expectations,
            ancestors={
                ancestor_id: AncestorFacts(
                    locked=locked[ancestor_id].is_locked,
                    aggregation=locked[ancestor_id].kr.aggregation,
                    cross_functional=locked[ancestor_id].kr.cross_functional,
                )
                for ancestor_id in kr.ancestor_ids
            },
            revision_id=revision.pk,
            actor_id=actor.pk if actor else None,
            is_modification=plan.is_locked,
            cause=cause,
            rationale=rationale,
            before_target=before_target,
            after_target=after_target,
            before_values=tuple(before_values),
            after_values=tuple(values),
            ancestor_totals=result.totals,
        )
    )
    return plan


def shape_values(kr: KeyResult, *, shape: str, target: Decimal) -> list[Decimal]:
    """The plan values a shape preset (or the imported history) gives for a target."""
    n = _period_count(kr)
    validate_number("target", target, kr.decimals, kr.unit)
    validate_target(kr, target)
    try:
        if shape == Shape.HISTORY:
            points = dict(
                HistoryPoint.objects.filter(organization_id=kr.organization_id, kr=kr).values_list(
                    "period", "value"
                )
            )
            if not points:
                raise ValidationError(
                    {"shape": ["No history has been imported for this key result yet."]}
                )
            history = [points.get(i, ZERO) for i in range(n)]
            if kr.metric_kind == MetricKind.LEVEL:
                raise ValidationError(
                    {"shape": ["A plan from history is for cumulative key results."]}
                )
            return shapes.history_shape(history, target, kr.decimals)
        if kr.metric_kind == MetricKind.LEVEL:
            return shapes.level_shape(shape, kr.start_value, target, n, kr.decimals)
        return shapes.cumulative_shape(shape, target, n, kr.decimals)
    except ValueError as error:
        raise ValidationError({"shape": [str(error)]}) from None


@dataclass(frozen=True)
class PlannedChange:
    """What a plan save writes: the values, and the revision's shape and cause."""

    values: list[Decimal]
    shape: str
    cause: str


def planned_change(
    kr: KeyResult,
    *,
    values: list[Decimal] | None = None,
    shape: str | None = None,
    target: Decimal | None = None,
) -> PlannedChange:
    """The values a plan save would write, validated: `values` as given, or the preset's
    (or the imported history's) values for `target`. The one computation behind every
    save and every preview of one (the API's PUT and preview, the plan editor's save and
    its impact preview), so a preview shows what the save then does."""
    if values is None:
        values = shape_values(kr, shape=shape, target=target)
        cause = Cause.IMPORT if shape == Shape.HISTORY else Cause.SHAPE
    else:
        shape, cause = Shape.CUSTOM, Cause.EDIT
    validate_plan_values(kr, values)
    return PlannedChange(values=values, shape=shape, cause=cause)


def plan_save(
    *,
    kr: KeyResult,
    change: PlannedChange,
    version: int,
    actor: User | None,
    rationale: str | None = None,
) -> Plan:
    """Save a `planned_change` (`plan_update` checks the version, who, the rationale)."""
    return plan_update(
        kr=kr,
        values=change.values,
        version=version,
        actor=actor,
        rationale=rationale,
        cause=change.cause,
        shape=change.shape,
    )


@transaction.atomic
def plan_apply_shape(
    *,
    kr: KeyResult,
    shape: str,
    target: Decimal,
    version: int,
    actor: User | None,
    rationale: str | None = None,
) -> Plan:
    change = planned_change(kr, shape=shape, target=target)
    return plan_save(kr=kr, change=change, version=version, actor=actor, rationale=rationale)


@transaction.atomic
def plan_submit(*, kr: KeyResult, actor: User | None, today: date | None = None) -> Plan:
    """Submit a KR's saved plan for alignment: a plan edit (`plan_require_edit`, so a
    parent's plan is its owner's and admins'), within the refine window, not all 0."""
    locks.taking(locks.CHAIN, [kr.pk])
    plan = Plan.objects.select_for_update().get(organization_id=kr.organization_id, kr=kr)
    plan_require_edit(actor, kr)
    if plan.status == PlanStatus.LOCKED:
        raise ValidationError({"status": ["This plan is locked already."]})
    if plan.status == PlanStatus.SUBMITTED:
        return plan
    cycle = kr.cycle
    today = today or timezone.localdate()
    if cycle.refine_start and not (cycle.refine_start <= today <= cycle.refine_end):
        raise ValidationError(
            {
                "detail": [
                    f"Plans of {cycle.name} are submitted between {cycle.refine_start} and "
                    f"{cycle.refine_end} (the refine window); ask an admin to move it."
                ]
            }
        )
    if all(value == 0 for value in plan.values):
        raise ValidationError({"values": ["Plan something before submitting: all values are 0."]})
    plan.status = PlanStatus.SUBMITTED
    plan.submitted_at = timezone.now()
    plan.save(update_fields=["status", "submitted_at", "updated_at"])
    return plan


@transaction.atomic
def plan_lock(*, kr: KeyResult, actor: User | None) -> Plan:
    """Lock the plans of a KR and its children; take the baseline and the ratios.

    Each sequential stage's reference ratio is its target over the previous stage's
    (SPEC.md §3); the baseline is the aggregate total with those ratios (SPEC.md §5).
    The chain (ancestors, the KR, its children) is locked in one query, root first, and the
    effective plans are recomputed, since the ratios now come from the lock.
    """
    lock_require(actor, kr)
    child_ids = list(
        KeyResult.objects.filter(organization_id=kr.organization_id, parent=kr).values_list(
            "pk", flat=True
        )
    )
    kr_ids = [*kr.ancestor_ids, kr.pk, *child_ids]
    locks.taking(locks.CHAIN, kr_ids)
    locked = {
        p.kr_id: p
        for p in Plan.objects.select_for_update(of=("self",))
        .select_related("kr")
        .filter(organization_id=kr.organization_id, kr_id__in=kr_ids)
        .order_by(Length("kr__path"), "kr_id")  # root first: okrplan/lib/locks.py
    }
    now = timezone.now()
    plan = locked[kr.pk]
    kr = plan.kr
    children = [locked[i] for i in child_ids]
    if kr.aggregation == "sequential":
        for child in children:
            if child.reference_target is None:
                child.reference_target = child.kr.target
    for p in [plan, *children]:
        if p.status != PlanStatus.LOCKED:
            p.status = PlanStatus.LOCKED
            p.locked_at = now
    child_inputs = [rollup_child(p) for p in children]
    if child_inputs:
        plan.effective_values = rollup.effective_values(
            aggregation=kr.aggregation, own_values=plan.values, children=child_inputs
        )
    if plan.baseline is None:
        plan.baseline = _aggregate_total(kr, plan, child_inputs, kr.organization.overlap_factor)
    Plan.objects.bulk_update(
        [plan, *children],
        ["status", "locked_at", "baseline", "reference_target", "effective_json"],
    )
    _recompute_ancestors(kr, locked)
    publish(PlanLocked(kr_id=kr.pk, actor_id=actor.pk if actor else None))
    return plan


# --- Check-ins --------------------------------------------------------------


@transaction.atomic
def checkin_create(
    *,
    kr: KeyResult,
    period: int,
    value: Decimal,
    author: User,
    note: str = "",
    today: date | None = None,
) -> CheckIn:
    kr_require_edit(author, kr)  # a check-in edits the KR: its owner, its lead, admins
    validate_text("note", note)
    periods = kr.cycle.periods
    if not 0 <= period < len(periods):
        raise ValidationError({"period": [f"Give a period index from 0 to {len(periods) - 1}."]})
    today = today or timezone.localdate()
    if periods[period].start > today:
        raise ValidationError(
            {
                "period": [
                    f"{periods[period].label} starts on {periods[period].start}: "
                    "check in once it has begun."
                ]
            }
        )
    validate_number("value", value, kr.decimals, kr.unit)  # at the unit's precision, like plans
    if kr.metric_kind == MetricKind.CUMULATIVE and value < 0:
        raise ValidationError({"value": ["A cumulative key result counts a flow: not negative."]})
    checkin = CheckIn.objects.create(
        organization_id=kr.organization_id,
        kr=kr,
        period=period,
        value=value,
        note=note,
        author=author,
    )
    publish(CheckInRecorded(kr_id=kr.pk, period=period))
    return checkin


# --- Reactions to the hierarchy's events -------------------------------------
#
# A locked parent's set of contributions is part of its locked plan (docs/decisions.md,
# issue 13 item 6): a KR joins or leaves it, or changes its stage or claimed impact,
# only when that leaves every locked ancestor's effective plan and aggregate total as
# they were. Otherwise the change is refused (400 naming the field, nothing written):
# the one way a locked shared total moves is a plan modification (`plan_update`: a
# rationale, a revision, the upward rule, a round). A KR that joins a locked parent has
# its plan locked too, so that its first plan is a modification.


def _locked_refusal(parent: KeyResult, title: str, before: Decimal, after: Decimal) -> str:
    unit = parent.unit
    moved = (
        f"would move its shared total from {num(before)} to {num(after)} {unit}"
        if before != after
        else "would change its shared plan"
    )
    return (
        f"“{parent.title}” is locked: this {moved} with no rationale and no modification "
        f"round. Bring what “{title}” contributes to nothing through its plan first (a "
        "modification, with a rationale the other departments hear about), then try again."
        + (
            " A claimed impact is fixed while the parent is locked."
            if parent.aggregation == "parallel"
            else ""
        )
    )


def _locked_parent_guard(
    parent_plan: Plan, *, before: list, after: list, field: str, title: str
) -> None:
    """Refuse a change of a locked parent's children that moves its effective plan or its
    aggregate total (the additive total, the funnel's implied output, the discounted
    claim)."""
    if not parent_plan.is_locked:
        return
    parent = parent_plan.kr

    def figures(children):
        effective = rollup.effective_values(
            aggregation=parent.aggregation, own_values=parent_plan.values, children=children
        )
        total = rollup.aggregate_total(
            aggregation=parent.aggregation,
            metric_kind=parent.metric_kind,
            effective=effective,
            children=children,
            overlap_factor=parent.organization.overlap_factor,
        )
        return effective, total

    effective_before, total_before = figures(before)
    effective_after, total_after = figures(after)
    if effective_before != effective_after or total_before != total_after:
        raise ValidationError({field: [_locked_refusal(parent, title, total_before, total_after)]})


def _recompute_guarded(kr: KeyResult, locked: dict[int, Plan], *, field: str, title: str):
    """`_recompute_ancestors`, refusing when a locked ancestor's effective plan moves."""
    result, written = _ancestors_recomputed(kr, locked, _children_of_ancestors(kr))
    for ancestor_id in kr.ancestor_ids:
        plan = locked[ancestor_id]
        if plan.is_locked and plan.pk in written:
            before, after = result.totals[ancestor_id]
            raise ValidationError({field: [_locked_refusal(plan.kr, title, before, after)]})
    _effective_write(written)
    return result


def _join_locked(plan: Plan, parent_plan: Plan) -> None:
    """A KR that joins a locked parent is locked with it (its next save is a
    modification)."""
    if not parent_plan.is_locked or plan.is_locked:
        return
    plan.status, plan.locked_at = PlanStatus.LOCKED, timezone.now()
    if parent_plan.kr.aggregation == "sequential" and plan.reference_target is None:
        plan.reference_target = plan.kr.target
    Plan.objects.filter(pk=plan.pk).update(
        status=plan.status, locked_at=plan.locked_at, reference_target=plan.reference_target
    )


def _children(parent: KeyResult) -> list[rollup.Child]:
    return children_of(organization_id=parent.organization_id, parent_ids=[parent.pk]).get(
        parent.pk, []
    )


def on_kr_created(event: KeyResultCreated) -> None:
    kr = KeyResult.objects.select_related("cycle", "organization").get(pk=event.kr_id)
    plan_create_initial(kr=kr)
    if kr.parent_id is None:
        return
    locked = _lock_chain(kr)
    parent_plan = locked[kr.parent_id]
    if parent_plan.is_locked:
        after = _children(parent_plan.kr)
        before = [c for c in after if c.id != kr.pk]
        _locked_parent_guard(
            parent_plan, before=before, after=after, field="parent", title=kr.title
        )
        _join_locked(locked[kr.pk], parent_plan)
    _recompute_guarded(kr, locked, field="parent", title=kr.title)


def on_kr_writing(event: KeyResultWriting) -> None:
    """Before the hierarchy writes a KR's row: the chains it touches, in one statement
    (a plan save locks its chain, then writes its KR's target: the same order)."""
    chain.chain_lock(organization_id=event.organization_id, kr_ids=list(event.kr_ids))


def on_kr_moved(event: KeyResultMoved) -> None:
    kr = KeyResult.objects.select_related("organization").get(pk=event.kr_id)
    plan = Plan.objects.get(organization_id=kr.organization_id, kr=kr)
    plan.kr = kr
    # what it contributed before the move: its plan, with its stage and claim as they were
    was = replace(
        rollup_child(plan), stage=event.old_stage, claimed_impact=event.old_claimed_impact
    )
    field, moved = event.field, event.old_parent_id != kr.parent_id
    old_parent = None
    if event.old_parent_id and moved:
        old_parent = KeyResult.objects.select_related("organization").get(pk=event.old_parent_id)
    # Both chains in one statement, root first (okrplan/lib/locks.py): two moves the
    # other way round each lock theirs in the same order. Held already when the move
    # came through `kr_update` (`on_kr_writing`).
    ids = [*kr.ancestor_ids, kr.pk] if kr.parent_id is not None else []
    if old_parent is not None:
        ids += [*old_parent.ancestor_ids, old_parent.pk]
    if ids:
        locked = chain.chain_lock(
            organization_id=kr.organization_id, kr_ids=list(dict.fromkeys(ids))
        )
    if kr.parent_id is not None:
        parent_plan = locked[kr.parent_id]
        if parent_plan.is_locked:
            after = _children(parent_plan.kr)
            if moved:
                before = [c for c in after if c.id != kr.pk]
            else:
                before = [was if c.id == kr.pk else c for c in after]
            _locked_parent_guard(
                parent_plan, before=before, after=after, field=field, title=kr.title
            )
            if moved:
                _join_locked(locked[kr.pk], parent_plan)
        _recompute_guarded(kr, locked, field=field, title=kr.title)
    if old_parent is not None:
        _recompute_self_and_ancestors(old_parent, field=field, title=kr.title, gone=was)


def on_kr_deleted(event: KeyResultDeleted) -> None:
    if event.parent_id:
        parent = KeyResult.objects.select_related("organization", "cycle").get(pk=event.parent_id)
        gone = rollup.child_of(  # the KR as it was (the event), its plan gone with it
            event, Plan(kr_id=event.kr_id), effective_values=[ZERO] * len(parent.cycle.periods)
        )
        _recompute_self_and_ancestors(parent, field="detail", title="this key result", gone=gone)


def on_funnel_reordered(event: FunnelReordered) -> None:
    """Stages swapped their numbers: the funnel's effective plan and its ancestors', unless
    a locked one's figures move (refused like any change of a locked parent's children)."""
    parent = KeyResult.objects.select_related("organization", "cycle").get(pk=event.parent_id)
    old = dict(event.old_stages)
    _recompute_self_and_ancestors(
        parent,
        field="stage",
        title=event.title,
        was=lambda children: [replace(c, stage=old.get(c.id, c.stage)) for c in children],
    )


def _recompute_self_and_ancestors(
    kr: KeyResult,
    *,
    field: str,
    title: str,
    gone: rollup.Child | None = None,
    was=None,
) -> None:
    """After `gone` left `kr`'s children (or its children changed from what `was(children)`
    makes of them): its effective plan and its ancestors'."""
    locked = _lock_chain(kr)
    plan = locked[kr.pk]
    children = _children(kr)
    before = was(children) if was is not None else [*children, gone]
    _locked_parent_guard(plan, before=before, after=children, field=field, title=title)
    effective = rollup.effective_values(
        aggregation=kr.aggregation, own_values=plan.values, children=children
    )
    if effective != plan.effective_values:
        plan.effective_values = effective
        Plan.objects.filter(pk=plan.pk).update(effective_json=plan.effective_json)
    _recompute_guarded(kr, locked, field=field, title=title)


# --- Key result changes that touch the plan ------------------------------------


def values_for_new_target(kr: KeyResult, plan: Plan, target: Decimal) -> list[Decimal]:
    """Keep the plan's shape and move it to a new target (target and plan never disagree):
    a target change and a cascade review's proposal alike."""
    try:
        return shapes.rescaled(
            plan.values,
            metric_kind=kr.metric_kind,
            start_value=kr.start_value,
            old_target=kr.target,
            target=target,
            decimals=kr.decimals,
        )
    except ValueError as error:
        raise ValidationError({"target": [str(error)]}) from error


@transaction.atomic
def kr_target_set(
    *,
    kr: KeyResult,
    target: Decimal,
    actor: User | None,
    rationale: str | None = None,
    version: int | None = None,
) -> Plan:
    """A new target is a plan change: the plan is moved to it, keeping its shape."""
    target_require_change(actor, kr)
    validate_number("target", target, kr.decimals, kr.unit)
    validate_target(kr, target)
    plan = Plan.objects.get(organization_id=kr.organization_id, kr=kr)
    values = values_for_new_target(kr, plan, target)
    return plan_update(
        kr=kr,
        values=values,
        version=plan.version if version is None else version,
        actor=actor,
        rationale=rationale,
        cause=Cause.EDIT,
        shape=plan.shape if plan.shape != Shape.UNPLANNED else Shape.LINEAR,
    )


# What `kr_change` reads again under the chain's lock (its cycle and organization do
# not change, and stay loaded).
_KR_CURRENT = [
    f.name for f in KeyResult._meta.concrete_fields if f.name not in ("id", "organization", "cycle")
]


def kr_measure_fixed(*, kr: KeyResult, plan: Plan, has_children: bool) -> str | None:
    """Why what a KR measures (its unit's precision, metric kind and start value) can no
    longer change, or None: it changes only while nothing is measured in it (no saved
    plan, no check-in, no contributions)."""
    if has_children:
        reason = "it has contributions, which plan in the same measure"
    elif plan.shape != Shape.UNPLANNED or plan.version > 1:
        reason = "its plan is saved, in this measure"
    elif CheckIn.objects.filter(organization_id=kr.organization_id, kr=kr).exists():
        reason = "it has check-ins, in this measure"
    else:
        return None
    return (
        f"The unit's precision, the metric kind and the start value of “{kr.title}” are "
        f"fixed now: {reason}. Create a key result that measures the new way instead."
    )


@transaction.atomic
def kr_change(
    *,
    kr: KeyResult,
    actor: User,
    fields: dict,
    target: Decimal | None = None,
    rationale: str | None = None,
    version: int | None = None,
) -> KeyResult:
    """PATCH of a KR: what it is (hierarchy), what it measures (`decimals`, `metric_kind`,
    `start_value`: while nothing is measured in it yet) and, with `target`, its plan,
    atomically.

    `version` is the plan's (the KR's `plan_version`): sent, it must be the current one
    whatever the PATCH changes (StaleVersion → 409), checked under the chain's lock."""
    from hierarchy.services import (
        KR_MEASURE_FIELDS,
        kr_measure_update,
        kr_update,
        kr_update_chain_ids,
    )

    fields = dict(fields)
    measure = {name: fields.pop(name) for name in KR_MEASURE_FIELDS if name in fields}
    # The chains first, in one statement (okrplan/lib/locks.py): a plan save locks its
    # chain before it writes the KR's target, and `kr_update` writes the KR's row; a
    # move touches the new parent's chain too. Then the KR as it is now: no path or
    # target read before a move or a save that committed while this one waited.
    ids = kr_update_chain_ids(kr=kr, fields=fields)
    locked = chain.chain_lock(organization_id=kr.organization_id, kr_ids=ids)[kr.pk]
    kr.refresh_from_db(fields=_KR_CURRENT)
    if version is not None and version != locked.version:
        raise StaleVersion(locked.version)
    measure = {name: value for name, value in measure.items() if value != getattr(kr, name)}
    if measure:
        target_require_change(actor, kr)  # what the target and the plan are counted in
        fixed = kr_measure_fixed(kr=kr, plan=locked, has_children=locked.has_children)
        if fixed:
            raise ValidationError({next(iter(measure)): [fixed]})
        kr = kr_measure_update(kr=kr, **measure)
    if fields:
        kr_require_edit(actor, kr)
        kr = kr_update(kr=kr, **fields)
    if target is not None and target != kr.target:
        kr_target_set(kr=kr, target=target, actor=actor, rationale=rationale, version=version)
        kr.refresh_from_db()
    return kr


# --- Dependencies: does the upstream plan still meet the expectation? ---------


def dependency_planned_by(dependency) -> Decimal | None:
    """What the upstream plan delivers by the expected date (`shapes.planned_by`)."""
    upstream = dependency.upstream
    return shapes.planned_by(
        upstream.plan.values,
        metric_kind=upstream.metric_kind,
        periods=upstream.cycle.periods,
        on=dependency.expected_by,
    )


def dependency_holds(dependency) -> bool | None:
    planned = dependency_planned_by(dependency)
    if planned is None or dependency.expected_value is None:
        return None
    return planned >= dependency.expected_value
