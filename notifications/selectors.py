"""Reads of the notifications app: the combined view with its protocol facts, the
preview of a plan change, propagation rules, steps."""

from decimal import Decimal

from django.db.models import Q

from hierarchy.models import KeyResult, Organization
from notifications import reads
from notifications.models import PropagationRule, Round, RoundStatus, Step, StepKind, StepState
from notifications.rules import Rule, UpwardKind, upward_decision
from okrplan.lib.numbers import fmt
from plans import rollup
from plans.alignment import Alignment, AlignmentInputs, alignment_build, with_child_plan
from plans.selectors import alignment_inputs, kr_or_404

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


def _protocol_facts(org: Organization, kr: KeyResult) -> tuple[list[dict], list[Round]]:
    open_reviews = [
        {
            **review,
            "proposed_target": fmt(review["proposed_target"]),
            "due_at": review["due_at"].isoformat(),
        }
        for review in reads.open_reviews(organization_id=org.pk, parent_id=kr.pk)
    ]
    rounds = reads.latest_rounds(organization_id=org.pk, parent_id=kr.pk, limit=ROUNDS_SHOWN)
    return open_reviews, rounds


def _orphaned(rounds: list[Round]) -> list[dict]:
    return [
        {
            "round": r.pk,
            "modified_kr": r.modified_kr_id,
            "department": r.modified_kr.department.name,
            "due_at": next(
                (s.due_at.isoformat() for s in r.steps.all() if s.kind == StepKind.NOTIFY), ""
            ),
        }
        for r in rounds
        if r.orphaned and r.status == RoundStatus.OPEN
    ]


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


def _render(kr: KeyResult, inputs: AlignmentInputs, alignment: Alignment, rounds) -> dict:
    return {
        "kr": {
            "id": kr.pk,
            "title": kr.title,
            "owner": kr.owner.username,
            "target": rollup_s(inputs.target),
            "start_value": rollup_s(inputs.start_value),
            "unit": kr.unit,
            "metric_kind": kr.metric_kind,
            "aggregation": kr.aggregation,
            "cross_functional": kr.cross_functional,
            "plan_status": kr.plan.status,
        },
        "periods": [
            {"index": p.index, "label": p.label, "start": p.start, "end": p.end}
            for p in kr.cycle.periods
        ],
        "children": alignment.children,
        "aggregate": alignment.aggregate,
        "baseline": rollup_s(inputs.baseline),
        "checks": [
            {"code": c.code, "severity": c.severity, "message": c.message, "data": c.data}
            for c in alignment.checks
        ],
        "rounds": [
            {
                "id": r.pk,
                "status": r.status,
                "orphaned": r.orphaned,
                "started_at": r.started_at,
                "modified_kr": r.modified_kr_id,
                "noticed_at": r.noticed_at,
                "notice_message": r.notice_message,
                "closed_at": r.closed_at,
                "close_note": r.close_note,
                "closed_target": rollup_s(r.closed_target),
                "steps": [
                    {
                        "id": s.pk,
                        "step": s.kind,
                        "assignee": s.assignee.username,
                        "department": s.department.name if s.department else None,
                        "due_at": s.due_at,
                        "done_at": s.done_at,
                        "state": s.state,
                        "answer": s.answer,
                        "note": s.note,
                    }
                    for s in r.steps.all()
                ],
            }
            for r in rounds
        ],
    }


def rollup_s(value):
    return fmt(value)


def alignment_view(*, org: Organization, kr: KeyResult) -> dict:
    """The combined view (API.md) of `kr`, loaded with its plan, owner and cycle."""
    open_reviews, rounds = _protocol_facts(org, kr)
    inputs = alignment_inputs(
        org=org, kr=kr, open_reviews=open_reviews, orphaned_rounds=_orphaned(rounds)
    )
    return _render(kr, inputs, alignment_build(inputs), rounds)


def plan_preview(
    *, org: Organization, kr: KeyResult, values: list[Decimal], target: Decimal
) -> dict:
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
    view = _render(parent, changed, after, rounds)
    view["would_notify"] = _would_notify(org, kr, parent, inputs, before, changed, after)
    view["before"] = {
        "total": rollup_s(before.total),
        "gap": before.aggregate.get("gap"),
        "gap_pct": before.aggregate.get("gap_pct"),
        "checks": [c.code for c in before.checks],
    }
    view["requires_rationale"] = kr.plan.is_locked
    return view


def plan_preview_of(*, org: Organization, kr: KeyResult, values: list[Decimal]) -> dict:
    """The preview of `kr`'s plan becoming `values` (validated already), as the API's
    `POST .../plan/preview/` and the plan editor's live fragment both show it.

    `kr` is loaded with `kr_or_404`; its parent is loaded the same way."""
    if kr.parent_id:
        kr.parent = kr_or_404(org=org, pk=kr.parent_id)
    return plan_preview(
        org=org, kr=kr, values=values, target=rollup.plan_total(kr.metric_kind, values)
    )


def _would_notify(org, kr, parent, inputs, before, changed, after) -> list[dict]:
    told = []
    if parent.pk == kr.pk:
        return told
    rule = rule_for(org=org, kr=parent)
    decision = upward_decision(
        rule=rule,
        locked=parent.plan.is_locked,
        baseline=parent.plan.baseline,
        before=threshold_total(inputs, before),
        after=threshold_total(changed, after),
    )
    if decision.notify:
        told.append(
            {
                "username": parent.owner.username,
                "kind": decision.kind,
                "reason": (
                    f"the shared total moves {decision.moved_pct}% from its baseline"
                    if decision.kind == UpwardKind.THRESHOLD
                    else "every change is reported (notify rule)"
                ),
            }
        )
    already = any(t["username"] == parent.owner.username for t in told)
    if kr.plan.is_locked and parent.cross_functional and not already:
        told.append(
            {
                "username": parent.owner.username,
                "kind": "step",
                "reason": "a locked plan is modified: a modification round starts",
            }
        )
    if parent.aggregation == "sequential":
        children = [row.facts.child for row in changed.children]
        owners = {row.facts.child.id: row.owner for row in changed.children}
        for stage in rollup.cascade_proposals(children, kr.pk):
            told.append(
                {
                    "username": owners[stage.id],
                    "kind": "review",
                    "reason": f"stage {stage.stage}'s implied target becomes "
                    f"{rollup_s(stage.implied_target)}",
                }
            )
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
        .select_related("actor")
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


def agenda_facts(*, org: Organization, kr: KeyResult, children: list[dict]) -> dict:
    """What the alignment meeting agenda needs beyond the combined view: the leads of
    the contributing departments (who attends) and the dependency register entries
    touching the contributions (their key assumptions). Two queries, whatever the size."""
    from hierarchy.models import Department, Dependency

    child_ids = [c["id"] for c in children]
    department_ids = {c["department"] for c in children}
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
