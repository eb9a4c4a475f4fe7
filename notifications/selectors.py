"""Reads of the notifications app: the combined view with its protocol facts, the
preview of a plan change, propagation rules, steps."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q

from hierarchy.models import KeyResult, Organization
from notifications.models import (
    PropagationRule,
    Round,
    RoundStatus,
    Step,
    StepKind,
    StepState,
)
from notifications.rules import (
    AncestorChange,
    Rule,
    SharedKR,
    plan_change_audience,
    stage_changes,
)
from okrplan.lib import times
from okrplan.lib.numbers import fmt
from plans import rollup
from plans.alignment import (
    Alignment,
    AlignmentInputs,
    Contribution,
    alignment_build,
    with_child_plan,
)
from plans.selectors import alignment_inputs, kr_get

ROUNDS_SHOWN = 20


def _rule(row: PropagationRule | None) -> Rule:
    if row is None:
        return Rule()
    return Rule(upward=row.upward, threshold_pct=row.threshold_pct, downward=row.downward)


def rule_for_kr(*, org: Organization, kr: KeyResult) -> tuple[Rule, bool]:
    """The KR's override, else the organization's default (inherited: True)."""
    rules = {
        r.kr_id: r
        for r in PropagationRule.objects.filter(organization=org).filter(
            Q(kr=kr) | Q(kr__isnull=True)
        )
    }
    if kr.pk in rules:
        return _rule(rules[kr.pk]), False
    return _rule(rules.get(None)), True


def rule_for(*, org: Organization, kr: KeyResult) -> Rule:
    return rule_for_kr(org=org, kr=kr)[0]


def rules_for(*, organization_id: int, kr_ids: list[int]) -> dict[int, Rule]:
    """The rule of each KR (override, default or built-in): one query for all."""
    rows = {
        r.kr_id: r
        for r in PropagationRule.objects.filter(organization_id=organization_id).filter(
            Q(kr_id__in=kr_ids) | Q(kr__isnull=True)
        )
    }
    default = _rule(rows.get(None))
    return {kr_id: _rule(rows[kr_id]) if kr_id in rows else default for kr_id in kr_ids}


def rule_default(*, org: Organization) -> Rule:
    return _rule(PropagationRule.objects.filter(organization=org, kr__isnull=True).first())


def _open_reviews(org: Organization, kr: KeyResult) -> list[dict]:
    """The open cascade reviews of `kr`'s children, in funnel order (the KRs named by
    organization too: the planner never uses row-level security's condition as an
    index's, and would read them by parent alone)."""
    reviews = (
        Step.objects.filter(
            organization=org,
            kr__organization=org,
            kr__parent=kr,
            kind=StepKind.CASCADE_REVIEW,
            state=StepState.OPEN,
        )
        .order_by("kr__stage", "id")
        .values("kr_id", "id", "department__name", "proposed_target", "due_at")
    )
    return [
        {
            "kr": review["kr_id"],
            "step": review["id"],
            "department": review["department__name"] or "",
            "proposed_target": review["proposed_target"],
            "due_at": review["due_at"],
        }
        for review in reviews
    ]


def _latest_rounds(org: Organization, kr: KeyResult) -> list[Round]:
    """The latest rounds of `kr`, newest first, each with its modified KR and that KR's
    department, and (one more query, only when there are rounds) its steps with their
    assignees and departments, in due order."""
    steps = Step.objects.select_related("assignee", "department").order_by("due_at", "id")
    return list(
        Round.objects.filter(organization=org, parent_kr=kr)
        .select_related("modified_kr__department")
        .prefetch_related(Prefetch("steps", queryset=steps))
        .order_by("-started_at", "-id")[:ROUNDS_SHOWN]
    )


def _protocol_facts(org: Organization, kr: KeyResult) -> tuple[list[dict], list[Round]]:
    open_reviews = [
        {
            **review,
            "proposed_target": fmt(review["proposed_target"]),
            "due_at": review["due_at"].isoformat(),
        }
        for review in _open_reviews(org, kr)
    ]
    rounds = _latest_rounds(org, kr)
    return open_reviews, rounds


def _orphaned(rounds: list[Round]) -> list[dict]:
    """The open orphaned rounds, for `checks.orphaned_modifications`: the notify deadline
    as data (ISO) and as people read it, in the active zone (a page's viewer's; UTC for
    the API)."""
    found = []
    for r in rounds:
        if not (r.orphaned and r.status == RoundStatus.OPEN):
            continue
        due = next((s.due_at for s in r.steps.all() if s.kind == StepKind.NOTIFY), None)
        found.append(
            {
                "round": r.pk,
                "modified_kr": r.modified_kr_id,
                "department": r.modified_kr.department.name,
                "due_at": due.isoformat() if due else "",
                "due_label": times.moment(due) if due else "",
            }
        )
    return found


def threshold_total(inputs: AlignmentInputs, alignment: Alignment) -> Decimal:
    """The figure the upward rule watches (SPEC.md §5)."""
    children = [row.facts.child for row in inputs.children]
    return rollup.aggregate_total(
        aggregation=inputs.aggregation,
        metric_kind=inputs.metric_kind,
        effective=alignment.effective_values,
        children=children,
        overlap_factor=inputs.tolerances.overlap_factor,
    )


@dataclass(frozen=True)
class AlignmentView:
    """The combined view (API.md) of a shared KR, in Decimals: the API's serializer
    and the pages' `|num` filter write the figures."""

    kr: KeyResult  # with its plan, owner and cycle
    inputs: AlignmentInputs
    alignment: Alignment
    rounds: list[Round]  # newest first, with their steps

    @property
    def periods(self):
        return self.kr.cycle.periods


@dataclass(frozen=True)
class Preview(AlignmentView):
    """The parent's combined view as it would be after a plan change (`alignment`),
    what it is now (`before`), and who would be told."""

    before: Alignment | None = None
    would_notify: list[dict] = field(default_factory=list)  # username, kind, reason
    requires_rationale: bool = False


def alignment_view(*, org: Organization, kr: KeyResult) -> AlignmentView:
    """The combined view (API.md) of `kr`, loaded with its plan, owner and cycle."""
    open_reviews, rounds = _protocol_facts(org, kr)
    inputs = alignment_inputs(
        org=org, kr=kr, open_reviews=open_reviews, orphaned_rounds=_orphaned(rounds)
    )
    return AlignmentView(kr=kr, inputs=inputs, alignment=alignment_build(inputs), rounds=rounds)


def plan_preview(
    *,
    org: Organization,
    kr: KeyResult,
    values: list[Decimal],
    target: Decimal,
    actor_id: int | None = None,
) -> Preview:
    """The parent's combined view as it would be after `kr`'s plan became `values`,
    and who would be told. Reads only."""
    parent = kr.parent if kr.parent_id else kr
    open_reviews, rounds = _protocol_facts(org, parent)
    inputs = alignment_inputs(
        org=org, kr=parent, open_reviews=open_reviews, orphaned_rounds=_orphaned(rounds)
    )
    before = alignment_build(inputs)
    own_plan_counts = kr.aggregation == "parallel" or not kr.children.exists()
    changed = with_child_plan(
        inputs,
        kr_id=kr.pk,
        values=values,
        effective=values if own_plan_counts else kr.plan.effective_values,
        target=target,
    )
    after = alignment_build(changed)
    return Preview(
        kr=parent,
        inputs=changed,
        alignment=after,
        rounds=rounds,
        before=before,
        would_notify=_would_notify(
            org, kr, parent, inputs, before, changed, after, rounds, actor_id=actor_id
        ),
        requires_rationale=kr.plan.is_locked,
    )


def plan_preview_of(
    *, org: Organization, kr: KeyResult, values: list[Decimal], actor_id: int | None = None
) -> Preview:
    """The preview of `kr`'s plan becoming `values` (validated already), as the API's
    `POST .../plan/preview/` and the plan editor's live fragment both show it;
    `actor_id`: who would save it (nobody is told of their own change).

    `kr` is loaded with `kr_get`; its parent is loaded the same way."""
    if kr.parent_id:
        kr.parent = kr_get(org=org, id=kr.parent_id)
    return plan_preview(
        org=org,
        kr=kr,
        values=values,
        target=rollup.plan_total(kr.metric_kind, values),
        actor_id=actor_id,
    )


def _would_notify(
    org, kr, parent, inputs, before, changed, after, rounds, actor_id=None
) -> list[dict]:
    """Who the save of this change would tell: the reaction's own decision
    (`rules.plan_change_audience`), over the parent's figures before and after."""
    if parent.pk == kr.pk:
        return []
    stages = []
    if parent.aggregation == "sequential":
        krs = {
            pk: (owner_id, target, decimals)
            for pk, owner_id, target, decimals in KeyResult.objects.filter(
                organization=org, parent=parent
            ).values_list("pk", "owner_id", "target", "decimals")
        }
        asked: dict[int, set] = {}
        for review in changed.open_reviews:
            asked.setdefault(review["kr"], set()).add(Decimal(review["proposed_target"]))
        proposals = rollup.cascade_proposals([row.facts.child for row in changed.children], kr.pk)
        stages = stage_changes(proposals, krs=krs, asked=asked)
    audience = plan_change_audience(
        actor_id=actor_id,
        ancestors=[
            AncestorChange(
                kr_id=parent.pk,
                owner_id=parent.owner_id,
                rule=rule_for(org=org, kr=parent),
                locked=parent.plan.is_locked,
                baseline=parent.plan.baseline,
                before=threshold_total(inputs, before),
                after=threshold_total(changed, after),
            )
        ],
        parent=SharedKR(
            kr_id=parent.pk,
            owner_id=parent.owner_id,
            cross_functional=parent.cross_functional,
            open_round_joined=any(  # as `services.round_joined` finds it, from the rounds shown
                r.status == RoundStatus.OPEN
                and (
                    r.modified_kr_id == kr.pk
                    or any(
                        s.kind == StepKind.ASSESS and s.state == StepState.OPEN and s.kr_id == kr.pk
                        for s in r.steps.all()
                    )
                )
                for r in rounds
            ),
        ),
        is_modification=kr.plan.is_locked,
        accepted_cascade=False,
        stages=stages,
    )
    usernames = {row.facts.child.id: row.owner for row in changed.children}
    usernames[parent.pk] = parent.owner.username
    told = []
    for t in audience.told:
        username = usernames[t.kr_id]
        if t.kind == "step" and any(entry["username"] == username for entry in told):
            continue  # told of the change already: one line for the parent's owner
        if t.kind == "threshold":
            reason = f"the shared total moves {t.decision.moved_pct}% from its baseline"
        elif t.kind == "change":
            reason = "every change is reported (notify rule)"
        elif t.kind == "step":
            reason = "a locked plan is modified: a modification round starts"
        else:
            reason = (
                f"stage {t.stage.stage}'s implied target becomes {fmt(t.stage.proposed_target)}"
            )
        told.append({"username": username, "kind": t.kind, "reason": reason})
    return told


def steps_for(*, org: Organization, user=None, open_only: bool = False):
    steps = Step.objects.filter(organization=org).select_related("assignee", "kr", "department")
    if user is not None:
        steps = steps.filter(assignee=user)
    if open_only:
        steps = steps.filter(state=StepState.OPEN)
    return steps.order_by("due_at", "id")


def kr_history(*, org: Organization, kr: KeyResult) -> list[dict]:
    """A KR's audit trail: its plan revisions and the events of the rounds it is part
    of (as the shared KR or as the modified one), oldest first. Two queries."""
    from notifications.models import RoundEvent
    from plans.selectors import revision_list

    entries = [
        {
            "kind": "revision",
            "id": r.pk,
            "at": r.created_at,
            "actor": r.actor.username if r.actor else None,
            "message": r.rationale or f"{r.get_cause_display()}: version {r.version}",
            "round": None,
            "round_number": None,
            "event": None,
            "version": r.version,
            "cause": r.cause,
            "shape": r.shape,
            "rationale": r.rationale,
            "is_modification": r.is_modification,
            "before_values": r.before_values,
            "after_values": r.after_values,
            "before_target": r.before_target,
            "after_target": r.after_target,
        }
        for r in revision_list(org=org, kr=kr)
    ]
    events = (
        RoundEvent.objects.filter(organization=org)
        .filter(Q(round__parent_kr=kr) | Q(round__modified_kr=kr))
        .select_related("actor", "round")
        .order_by("at", "id")
    )
    entries += [
        {
            "kind": "round_event",
            "id": e.pk,
            "at": e.at,
            "actor": e.actor.username if e.actor else None,
            "message": e.message,
            "round": e.round_id,
            "round_number": e.round.number,
            "event": e.kind,
            "version": None,
            "cause": None,
            "shape": None,
            "rationale": None,
            "is_modification": None,
            "before_values": None,
            "after_values": None,
            "before_target": None,
            "after_target": None,
        }
        for e in events
    ]
    return sorted(entries, key=lambda entry: (entry["at"], entry["kind"] == "round_event"))


def agenda_facts(*, org: Organization, kr: KeyResult, children: list[Contribution]) -> dict:
    """What the alignment meeting agenda needs beyond the combined view: the leads of
    the contributing departments (who attends) and the dependency register entries
    touching the contributions (their key assumptions). Two queries, whatever the size."""
    from hierarchy.models import Department, Dependency

    child_ids = [c.id for c in children]
    department_ids = {c.department for c in children}
    leads = {
        d.pk: d.lead.get_full_name() or d.lead.username
        for d in Department.objects.filter(organization=org, pk__in=department_ids).select_related(
            "lead"
        )
    }
    assumptions: dict[int, list[dict]] = {}
    dependencies = (
        Dependency.objects.filter(organization=org)
        .filter(Q(downstream_id__in=child_ids) | Q(upstream_id__in=child_ids))
        .select_related("upstream", "downstream")
        .order_by("id")
        if child_ids
        else []
    )
    for d in dependencies:
        entry = {
            "assumption": d.assumption,
            "upstream": d.upstream.title,
            "downstream": d.downstream.title,
            "expected_value": d.expected_value,
            "expected_by": d.expected_by,
        }
        for kr_id in {d.downstream_id, d.upstream_id} & set(child_ids):
            assumptions.setdefault(kr_id, []).append(entry)
    return {"leads": leads, "assumptions": assumptions}
