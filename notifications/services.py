"""Writes of the notifications app: who must know and by when (SPEC.md §5).

Reactions to plan changes (upward notices, modification rounds, cascade,
dependency and downward reviews) run inside the plan save's transaction, so a
save and everything it sets off commit together. E-mail is sent afterwards, by a
task queued on commit and by the periodic sweep, so a broker that is down at
save time loses nothing.
"""

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from hierarchy.events import (
    InvitationClosed,
    InvitationCreated,
    KeyResultsArchived,
    KeyResultsArchiving,
    MemberDutiesAsked,
)
from hierarchy.models import Aggregation, Invitation, KeyResult
from hierarchy.permissions import close_require, notice_require
from notifications import locks
from notifications.models import (
    Answer,
    Notification,
    NotificationKind,
    Round,
    RoundEvent,
    RoundEventKind,
    RoundStatus,
    Step,
    StepKind,
    StepState,
)
from notifications.rules import UpwardKind, upward_decision
from okrplan.lib.text import validate_text
from plans import rollup, shapes
from plans import services as plan_services
from plans.checks import num
from plans.events import CheckInRecorded, PlanChanged
from plans.models import Cause, Plan, decimals_to_json

User = get_user_model()
log = logging.getLogger(__name__)
REMIND_AT = Decimal("0.75")  # of a step's window: the reminder before it is due


def hours(value: Decimal) -> timedelta:
    return timedelta(seconds=float(value * 3600))


def when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def email_soon() -> None:
    """Queue e-mail delivery once the transaction commits (the sweep catches up if the
    broker is down)."""
    from django.db import connection

    from notifications.tasks import email_deliver_enqueue

    if not any(func is email_deliver_enqueue for _, func, _ in connection.run_on_commit):
        transaction.on_commit(email_deliver_enqueue)


# --- Propagation rules ----------------------------------------------------------


@transaction.atomic
def rule_set(
    *,
    org,
    kr: KeyResult | None,
    upward: str,
    downward: str,
    threshold_pct: Decimal | None = None,
):
    """Set the organization's default rule (kr=None) or a KR's override."""
    from notifications.models import PropagationRule
    from notifications.rules import Rule

    values = {"upward": upward, "downward": downward}
    if threshold_pct is not None:
        values["threshold_pct"] = threshold_pct
    row, _ = PropagationRule.objects.update_or_create(organization=org, kr=kr, defaults=values)
    return Rule(upward=row.upward, threshold_pct=row.threshold_pct, downward=row.downward)


@transaction.atomic
def rule_clear(*, org, kr: KeyResult) -> None:
    from notifications.models import PropagationRule

    PropagationRule.objects.filter(organization=org, kr=kr).delete()


# --- Notifications ------------------------------------------------------------


def notification_create(
    *,
    organization_id: int,
    user_id: int | None,
    kind: str,
    key: str,
    message: str,
    kr_id: int | None = None,
    round_id: int | None = None,
    step_id: int | None = None,
    email: str = "",
) -> Notification | None:
    """Record a notification under its unique key; None when that key was recorded already.
    `email` instead of `user_id`: to an address without an account (an invitation)."""
    notification, created = Notification.objects.get_or_create(
        organization_id=organization_id,
        key=key,
        defaults={
            "user_id": user_id,
            "email": email,
            "kind": kind,
            "message": message,
            "kr_id": kr_id,
            "round_id": round_id,
            "step_id": step_id,
        },
    )
    if created:
        email_soon()
    return notification if created else None


@transaction.atomic
def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, organization_id: int, user) -> int:
    return Notification.objects.filter(
        organization_id=organization_id, user=user, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- Steps and round events ---------------------------------------------------


def step_create(*, due_at: datetime, now: datetime | None = None, **fields) -> Step:
    now = now or timezone.now()
    remind_at = now + (due_at - now) * float(REMIND_AT)
    return Step.objects.create(due_at=due_at, remind_at=remind_at, **fields)


def review_open(
    *,
    kind: str,
    kr: KeyResult,
    source_kr_id: int,
    due_at: datetime,
    now: datetime,
    message,
    **extra,
) -> Step:
    """Ask a KR's owner to review it by `due_at`: a step, and a notification saying why
    (`message(step)`)."""
    step = step_create(
        organization_id=kr.organization_id,
        kind=kind,
        kr=kr,
        source_kr_id=source_kr_id,
        department_id=kr.department_id,
        assignee_id=kr.owner_id,
        due_at=due_at,
        now=now,
        **extra,
    )
    notification_create(
        organization_id=kr.organization_id,
        user_id=kr.owner_id,
        kind=NotificationKind.REVIEW,
        key=f"step:{step.pk}:assigned",
        message=message(step),
        kr_id=kr.pk,
        step_id=step.pk,
    )
    return step


def event_record(
    round: Round, kind: str, *, actor=None, step=None, message="", data=None, at=None
) -> RoundEvent:
    return RoundEvent.objects.create(
        organization_id=round.organization_id,
        round=round,
        kind=kind,
        at=at or timezone.now(),
        actor=actor,
        step=step,
        message=message,
        data=data or {},
    )


# --- Upward: the parent owner hears when the shared total moves ----------------


@dataclass(frozen=True)
class RevisionFacts:
    """What the reactions need of the revision behind a `PlanChanged`: no re-read."""

    pk: int
    cause: str
    rationale: str
    before_target: Decimal
    after_target: Decimal
    before_values: tuple
    after_values: tuple

    @classmethod
    def of(cls, event: PlanChanged) -> "RevisionFacts":
        return cls(
            pk=event.revision_id,
            cause=event.cause,
            rationale=event.rationale,
            before_target=event.before_target,
            after_target=event.after_target,
            before_values=event.before_values,
            after_values=event.after_values,
        )


def upward_notices(
    *,
    event: PlanChanged,
    totals: dict,
    plans: dict[int, Plan],
    changed,
    revision: RevisionFacts,
) -> None:
    """SPEC.md §5 upward rules for every ancestor whose aggregate total moved.

    `plans`: the ancestors' plans with their KRs (locked by the save already);
    `changed()`: the changed KR, loaded only if someone is to be told."""
    from notifications.selectors import rules_for

    rules = rules_for(organization_id=event.organization_id, kr_ids=list(totals))
    for ancestor_id, (before, after) in totals.items():
        plan = plans[ancestor_id]
        ancestor = plan.kr
        decision = upward_decision(
            rule=rules[ancestor_id],
            locked=plan.is_locked,
            baseline=plan.baseline,
            before=before,
            after=after,
        )
        if not decision.notify:
            continue
        if decision.kind == UpwardKind.THRESHOLD:
            plan.baseline = decision.new_baseline
            Plan.objects.filter(pk=plan.pk).update(baseline=plan.baseline)
        if ancestor.owner_id == event.actor_id:
            continue  # no news to the person who made the change
        kr = changed()
        moved = f" ({decision.moved_pct:+}% from the baseline)" if decision.moved_pct else ""
        notification_create(
            organization_id=kr.organization_id,
            user_id=ancestor.owner_id,
            kind=NotificationKind.THRESHOLD
            if decision.kind == UpwardKind.THRESHOLD
            else NotificationKind.CHANGE,
            key=f"upward:{revision.pk}:{ancestor_id}",
            message=(
                f"“{ancestor.title}” now adds up to {num(after)} {ancestor.unit} "
                f"(was {num(before)}){moved}: {kr.department.name} changed “{kr.title}”"
                + (f" — “{revision.rationale}”." if revision.rationale else ".")
            ),
            kr_id=ancestor_id,
        )


# --- Modification rounds (the 24-48-72 protocol) -------------------------------


def _contributors(parent: KeyResult, exclude_department_id: int | None) -> list[KeyResult]:
    return list(
        KeyResult.objects.filter(organization_id=parent.organization_id, parent=parent)
        .exclude(department_id=exclude_department_id)
        .select_related("owner", "department")
        .order_by("department__name", "id")
    )


def round_on_modification(
    *, kr: KeyResult, parent: KeyResult, revision: RevisionFacts, actor_id: int | None
) -> Round:
    """A locked plan of a child of a cross-functional KR was modified (time T0).

    A modification made while answering an open round (its department has an open
    assess step there), or by the department that started it, belongs to that round."""
    now = timezone.now()
    open_rounds = locks.open_rounds_lock(  # the save holds the parent's chain already
        Round.objects.filter(
            organization_id=kr.organization_id, parent_kr=parent, status=RoundStatus.OPEN
        ).order_by("-started_at", "-id")
    )
    for open_round in open_rounds:
        assess = open_round.steps.filter(kind=StepKind.ASSESS, state=StepState.OPEN, kr=kr).first()
        if assess is not None:
            _step_close(assess, actor_id=actor_id, answer=Answer.MODIFIED, note=revision.rationale)
            event_record(
                open_round,
                RoundEventKind.ASSESSED,
                step=assess,
                message=f"{kr.department.name} modified its plan: “{revision.rationale}”",
                data={"answer": "modified", "revision": revision.pk, "actor": actor_id},
            )
            return open_round
        if open_round.modified_kr_id == kr.pk:
            event_record(
                open_round,
                RoundEventKind.MODIFIED_AGAIN,
                message=f"{kr.department.name} changed its plan again: “{revision.rationale}”",
                data={"revision": revision.pk, "actor": actor_id},
            )
            return open_round
    org = parent.organization
    round = Round.objects.create(
        organization_id=kr.organization_id,
        parent_kr=parent,
        modified_kr=kr,
        revision_id=revision.pk,
        started_at=now,
        started_by_id=actor_id,
    )
    notify = step_create(
        organization_id=kr.organization_id,
        round=round,
        kind=StepKind.NOTIFY,
        kr=parent,
        department_id=parent.department_id,
        assignee_id=parent.owner_id,
        due_at=now + hours(org.notify_hours),
        now=now,
    )
    step_create(
        organization_id=kr.organization_id,
        round=round,
        kind=StepKind.CLOSE,
        kr=parent,
        department_id=parent.department_id,
        assignee_id=parent.owner_id,
        due_at=now + hours(org.close_hours),
        now=now,
    )
    event_record(
        round,
        RoundEventKind.STARTED,
        at=now,
        message=f"{kr.department.name} modified “{kr.title}”: “{revision.rationale}”",
        data={
            "revision": revision.pk,
            "before_target": format(revision.before_target, "f"),
            "after_target": format(revision.after_target, "f"),
            "actor": actor_id,
        },
    )
    notification_create(
        organization_id=kr.organization_id,
        user_id=parent.owner_id,
        kind=NotificationKind.STEP,
        key=f"step:{notify.pk}:assigned",
        message=(
            f"{kr.department.name} modified its locked plan “{kr.title}” "
            f"({num(revision.before_target)} → {num(revision.after_target)} {kr.unit}): "
            f"“{revision.rationale}”. Send the impact notice to the other departments of "
            f"“{parent.title}” by {when(notify.due_at)}."
        ),
        kr_id=parent.pk,
        round_id=round.pk,
        step_id=notify.pk,
    )
    return round


def _open_assessments(
    round: Round, *, now: datetime, message, kind: str, key: str, contributors=None
) -> list:
    """Tell each other contributor, and ask each to assess by notice time + assess hours.

    `message`: the text, or a function of the contributor's KR giving it."""
    org = round.parent_kr.organization
    existing = set(round.steps.filter(kind=StepKind.ASSESS).values_list("kr_id", flat=True))
    steps = []
    if contributors is None:
        contributors = _contributors(round.parent_kr, round.modified_kr.department_id)
    for child in contributors:
        if child.pk not in existing:
            step = step_create(
                organization_id=round.organization_id,
                round=round,
                kind=StepKind.ASSESS,
                kr=child,
                department_id=child.department_id,
                assignee_id=child.owner_id,
                due_at=now + hours(org.assess_hours),
                now=now,
            )
            steps.append(step)
        notification_create(
            organization_id=round.organization_id,
            user_id=child.owner_id,
            kind=kind,
            key=f"round:{round.pk}:{key}:{child.pk}",
            message=message(child) if callable(message) else message,
            kr_id=child.pk,
            round_id=round.pk,
        )
    return steps


def _department_lines(raw: dict | None, contributors: list[KeyResult]) -> dict[int, str]:
    """The optional line for one department: department id → text; only the departments
    the notice goes to (the other contributors'), blank lines dropped."""
    names = {c.department_id: c.department.name for c in contributors}
    lines: dict[int, str] = {}
    for key, text in (raw or {}).items():
        try:
            department_id = int(key)
        except (TypeError, ValueError):
            department_id = None
        if department_id not in names:
            raise ValidationError(
                {
                    "department_messages": [
                        f"{key!r} is not one of the departments the notice goes to "
                        f"({', '.join(f'{i}: {n}' for i, n in sorted(names.items()))})."
                    ]
                }
            )
        text = (text or "").strip()
        if text:
            lines[department_id] = text
    return lines


@transaction.atomic
def round_notice(
    *, round: Round, actor, message: str, department_messages: dict | None = None
) -> Round:
    """The parent owner's impact notice: notify step done, assess steps opened.

    One message to every other contributing department, optionally with a line for
    some of them (`department_messages`: department id → text, SPEC.md §5)."""
    round = locks.round_lock(round.pk, "parent_kr__organization", "modified_kr__department")
    notice_require(actor, round.parent_kr)
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": ["Write the impact notice the departments will read."]})
    if round.status != RoundStatus.OPEN:
        raise ValidationError({"detail": ["This round is closed."]})
    if round.noticed_at is not None:
        raise ValidationError({"detail": ["The impact notice was sent already."]})
    contributors = _contributors(round.parent_kr, round.modified_kr.department_id)
    lines = _department_lines(department_messages, contributors)
    names = {c.department_id: c.department.name for c in contributors}
    now = timezone.now()
    round.noticed_at, round.notice_message = now, message
    round.save(update_fields=["noticed_at", "notice_message"])
    notify = round.steps.filter(kind=StepKind.NOTIFY).first()
    if notify and notify.state == StepState.OPEN:
        _step_close(notify, actor_id=actor.pk, answer="", note=message)
    event_record(
        round,
        RoundEventKind.NOTICE_SENT,
        actor=actor,
        step=notify,
        message=" ".join([message, *(f"For {names[i]}: {t}" for i, t in lines.items())]),
        at=now,
        data={"departments": {str(i): t for i, t in lines.items()}} if lines else None,
    )
    due = when(now + hours(round.parent_kr.organization.assess_hours))

    def text(child: KeyResult) -> str:
        line = lines.get(child.department_id)
        return (
            f"Impact notice on “{round.parent_kr.title}” after {round.modified_kr.department.name}"
            f" changed its plan: {message}"
            + (f" For {child.department.name}: {line}" if line else "")
            + f" Answer “no change” or modify your plan by {due}."
        )

    _open_assessments(
        round,
        now=now,
        message=text,
        kind=NotificationKind.IMPACT_NOTICE,
        key="notice",
        contributors=contributors,
    )
    return round


@transaction.atomic
def round_close(*, round: Round, actor, note: str, target: Decimal | None = None) -> Round:
    """The parent owner closes the round, confirming or changing the shared target."""
    # the shared KR's chain first, then the round: the target change below saves the
    # parent's plan, as a child's save does before it locks the round
    round = locks.round_lock(round.pk, "parent_kr")
    close_require(actor, round.parent_kr)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ["Say what was decided (it is shared with everyone)."]})
    if round.status != RoundStatus.OPEN:
        raise ValidationError({"detail": ["This round is closed already."]})
    parent = KeyResult.objects.select_related("cycle", "organization", "department").get(
        pk=round.parent_kr_id
    )
    now = timezone.now()
    if target is not None and target != parent.target:
        plan_services.kr_target_set(kr=parent, target=target, actor=actor, rationale=note)
    for step in round.steps.filter(state=StepState.OPEN):
        if step.kind == StepKind.CLOSE:
            _step_close(step, actor_id=actor.pk, answer="", note=note)
        else:
            step.state, step.done_at = StepState.SUPERSEDED, now
            step.save(update_fields=["state", "done_at"])
    round.status, round.closed_at, round.close_note = RoundStatus.CLOSED, now, note
    round.closed_target = target if target is not None else parent.target
    round.save(update_fields=["status", "closed_at", "close_note", "closed_target"])
    event_record(
        round,
        RoundEventKind.CLOSED,
        actor=actor,
        message=note,
        at=now,
        data={"target": format(round.closed_target, "f"), "changed": target is not None},
    )
    changed = target is not None and target != parent.target
    decided = (
        f"the shared target becomes {num(target)} {parent.unit}"
        if changed
        else f"the shared target stays {num(round.closed_target)} {parent.unit}"
    )
    for child in _contributors(parent, None):
        notification_create(
            organization_id=round.organization_id,
            user_id=child.owner_id,
            kind=NotificationKind.ROUND_CLOSED,
            key=f"round:{round.pk}:closed:{child.pk}",
            message=f"The round on “{parent.title}” is closed: {decided}. {note}",
            kr_id=child.pk,
            round_id=round.pk,
        )
    return round


def _step_close(step: Step, *, actor_id, answer: str, note: str, state=StepState.DONE) -> None:
    step.state, step.answer, step.note = state, answer, note or ""
    step.done_at, step.done_by_id = timezone.now(), actor_id
    step.save(update_fields=["state", "answer", "note", "done_at", "done_by"])


# --- Cascade reviews (SPEC.md §3, Sequential) ---------------------------------


def _proposed_values(kr: KeyResult, plan: Plan, target: Decimal) -> list[Decimal]:
    """The stage's plan scaled by the same factor as its target."""
    values = plan.values
    if kr.metric_kind == "cumulative" and sum(values, Decimal(0)) > 0 and target >= 0:
        return shapes.history_shape(values, target, kr.decimals)
    if kr.metric_kind == "cumulative":
        return shapes.cumulative_shape("linear", max(target, Decimal(0)), len(values), kr.decimals)
    return shapes.level_shape("linear", kr.start_value, target, len(values), kr.decimals)


def cascade_reviews_open(*, parent: KeyResult, changed_kr_id: int) -> list[Step]:
    """Ask the owner of every later stage whose implied target moved to review it."""
    children_plans = plan_services.children_plans(
        organization_id=parent.organization_id, parent_id=parent.pk
    )
    by_id = {p.kr_id: p for p in children_plans}
    proposals = rollup.cascade_proposals(
        [plan_services.rollup_child(p) for p in children_plans], changed_kr_id
    )
    now = timezone.now()
    org = parent.organization
    created = []
    for stage in proposals:
        plan = by_id[stage.id]
        kr = plan.kr
        target = stage.implied_target.quantize(shapes.quantum(kr.decimals), rounding=ROUND_HALF_UP)
        open_reviews = Step.objects.filter(
            organization_id=kr.organization_id,
            kr=kr,
            kind=StepKind.CASCADE_REVIEW,
            state=StepState.OPEN,
        )
        if target == kr.target or open_reviews.filter(proposed_target=target).exists():
            continue  # nothing to review at the stage's precision, or asked already
        open_reviews.update(state=StepState.SUPERSEDED, done_at=now)
        step = review_open(
            kind=StepKind.CASCADE_REVIEW,
            kr=kr,
            source_kr_id=changed_kr_id,
            due_at=now + hours(org.assess_hours),
            now=now,
            proposed_target=target,
            proposed_json=decimals_to_json(_proposed_values(kr, plan, target)),
            message=lambda step, kr=kr, target=target: (
                f"An upstream change in “{parent.title}” moves the implied target of "
                f"“{kr.title}” from {num(kr.target)} to {num(target)} {kr.unit}: "
                f"accept the proposed plan or decline with a note by {when(step.due_at)}."
            ),
        )
        created.append(step)
    return created


# --- Downward: the children hear when their parent changes ---------------------


def downward_reviews(*, parent: KeyResult, revision: RevisionFacts, actor_id: int | None) -> None:
    """SPEC.md §5 downward rules: each child owner is notified, or must review."""
    from notifications.selectors import rule_for

    rule = rule_for(org=parent.organization, kr=parent)
    if rule.downward == "none":
        return
    now = timezone.now()
    what = (
        f"“{parent.title}” changed: its target is now {num(revision.after_target)} "
        f"{parent.unit} (was {num(revision.before_target)})"
        + (f" — “{revision.rationale}”" if revision.rationale else "")
    )
    for child in _contributors(parent, None):
        if child.owner_id == actor_id:
            continue
        if rule.downward == "review_required":
            review_open(
                kind=StepKind.DOWNWARD_REVIEW,
                kr=child,
                source_kr_id=parent.pk,
                due_at=now + hours(parent.organization.assess_hours),
                now=now,
                message=lambda step, child=child: (
                    f"{what}. Review “{child.title}” by {when(step.due_at)}."
                ),
            )
        else:
            notification_create(
                organization_id=parent.organization_id,
                user_id=child.owner_id,
                kind=NotificationKind.CHANGE,
                key=f"downward:{revision.pk}:{child.pk}",
                message=f"{what}.",
                kr_id=child.pk,
            )


# --- Dependencies: the downstream owner reviews when an expectation breaks -----


def dependency_reviews(*, organization_id: int, kr_id: int, revision: RevisionFacts) -> None:
    from hierarchy.models import Dependency

    dependencies = Dependency.objects.filter(
        organization_id=organization_id, upstream_id=kr_id, expected_value__isnull=False
    ).select_related("downstream__owner", "upstream__cycle", "upstream__organization")
    now = timezone.now()
    for dependency in dependencies:
        kr = dependency.upstream
        before = _planned_by(kr, list(revision.before_values), dependency)
        after = _planned_by(kr, list(revision.after_values), dependency)
        if before is None or after is None:
            continue
        if not (before >= dependency.expected_value > after):
            continue
        downstream = dependency.downstream
        review_open(
            kind=StepKind.DEPENDENCY_REVIEW,
            kr=downstream,
            source_kr_id=kr.pk,
            due_at=now + hours(kr.organization.assess_hours),
            now=now,
            message=lambda step, d=dependency, kr=kr, after=after: (
                f"Your plan for “{d.downstream.title}” assumes: “{d.assumption}”. "
                f"“{kr.title}” now plans {num(after)} by {d.expected_by}, below the "
                f"{num(d.expected_value)} expected. Review by {when(step.due_at)}."
            ),
        )


def _planned_by(kr: KeyResult, values: list[Decimal], dependency) -> Decimal | None:
    periods = kr.cycle.periods
    index = next((p.index for p in periods if p.start <= dependency.expected_by <= p.end), None)
    if index is None or index >= len(values):
        return None
    if kr.metric_kind == "cumulative":
        return sum(values[: index + 1], Decimal(0))
    return values[index]


# --- Answering steps ------------------------------------------------------------


@transaction.atomic
def step_answer(*, step: Step, actor, answer: str, note: str = "") -> Step:
    validate_text("note", note)
    # the KR's chain first, then the round, then the step: accepting saves the plan, and
    # an upstream save locks the chain before it supersedes the open reviews
    step = locks.step_lock(step.pk)
    if step.state != StepState.OPEN:
        raise ValidationError({"answer": [f"This step is {step.state} already."]})
    if step.assignee_id != actor.pk:
        raise PermissionDenied("Only the person this step is assigned to may answer it.")
    note = (note or "").strip()
    if step.kind == StepKind.CASCADE_REVIEW:
        if answer not in (Answer.ACCEPT, Answer.DECLINE):
            raise ValidationError({"answer": ["Answer a cascade review with accept or decline."]})
        if answer == Answer.DECLINE and not note:
            raise ValidationError({"note": ["Say why you keep your plan (the note is shared)."]})
        if answer == Answer.ACCEPT:
            kr = KeyResult.objects.select_related("cycle", "organization").get(pk=step.kr_id)
            plan = Plan.objects.get(kr=kr)
            source = KeyResult.objects.filter(pk=step.source_kr_id).first()
            plan_services.plan_update(
                kr=kr,
                values=step.proposed_values,
                version=plan.version,
                actor=actor,
                rationale=note
                or f"Accepted the cascade from “{source.title if source else 'upstream'}”.",
                cause=Cause.CASCADE,
                shape=plan.shape,
            )
        state = StepState.DONE if answer == Answer.ACCEPT else StepState.DECLINED
    elif step.kind in (StepKind.ASSESS, StepKind.DOWNWARD_REVIEW, StepKind.DEPENDENCY_REVIEW):
        if answer not in (Answer.NO_CHANGE, Answer.MODIFIED):
            raise ValidationError({"answer": ["Answer with no_change or modified."]})
        state = StepState.DONE
    else:
        raise ValidationError(
            {"answer": ["This step is done by acting (the notice, the close, a check-in)."]}
        )
    _step_close(step, actor_id=actor.pk, answer=answer, note=note, state=state)
    if step.round_id:
        event_record(
            step.round,
            RoundEventKind.ASSESSED,
            actor=actor,
            step=step,
            message=note,
            data={"answer": answer, "kr": step.kr_id},
        )
    return step


# --- Reactions to the plans app's events --------------------------------------


def on_plan_changed(event: PlanChanged) -> None:
    """Everything a plan change sets off, in the save's transaction.

    The event says which ancestors are locked, whether a round or a cascade starts and
    whether dependencies expect numbers of this KR, so a change that sets off nothing
    reads nothing; the changed KR itself is loaded only when a message names it."""
    revision = RevisionFacts.of(event)
    parent_facts = event.ancestors.get(event.parent_id) if event.parent_id else None
    locked_ancestors = [i for i in event.ancestor_totals if event.ancestors[i].locked]
    starts_round = (
        event.is_modification
        and revision.cause != Cause.CASCADE
        and parent_facts is not None
        and parent_facts.cross_functional
    )
    cascades = parent_facts is not None and parent_facts.aggregation == Aggregation.SEQUENTIAL
    wanted = set(locked_ancestors) | ({event.parent_id} if starts_round or cascades else set())
    plans = (
        {
            p.kr_id: p
            for p in Plan.objects.filter(
                organization_id=event.organization_id, kr_id__in=wanted
            ).select_related("kr__owner", "kr__organization", "kr__department")
        }
        if wanted
        else {}
    )

    @functools.cache
    def changed() -> KeyResult:
        return KeyResult.objects.select_related("department", "organization").get(pk=event.kr_id)

    if locked_ancestors:  # drafts are not news: no baseline, no rule to read
        upward_notices(
            event=event,
            totals={i: event.ancestor_totals[i] for i in locked_ancestors},
            plans=plans,
            changed=changed,
            revision=revision,
        )
    if starts_round:
        round_on_modification(
            kr=changed(),
            parent=plans[event.parent_id].kr,
            revision=revision,
            actor_id=event.actor_id,
        )
    if cascades:
        cascade_reviews_open(parent=plans[event.parent_id].kr, changed_kr_id=event.kr_id)
    if event.has_expectations:
        dependency_reviews(
            organization_id=event.organization_id, kr_id=event.kr_id, revision=revision
        )
    if event.is_modification and event.has_children:
        downward_reviews(parent=changed(), revision=revision, actor_id=event.actor_id)


def on_checkin_recorded(event: CheckInRecorded) -> None:
    """A check-in ends the chase of its period."""
    Step.objects.filter(
        kind=StepKind.CHECKIN, kr_id=event.kr_id, period=event.period, state=StepState.OPEN
    ).update(state=StepState.DONE, done_at=timezone.now())


# --- Invitations (hierarchy.events) -------------------------------------------------


def _invitation_key(invitation_id: int) -> str:
    return f"invitation:{invitation_id}"


def on_invitation_created(event: InvitationCreated) -> None:
    """Tell the invitee: in the app (their inbox's invitations) and by e-mail, with the
    link. A username that names nobody: nobody to tell (the admin's answer was the same)."""
    invitation = Invitation.objects.select_related("organization", "invited_by").get(
        pk=event.invitation_id
    )
    if invitation.invitee_id is None and not invitation.email:
        return
    by = invitation.invited_by
    who = (by.get_full_name() or by.username) if by else "An admin"
    until = timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d")
    notification_create(
        organization_id=invitation.organization_id,
        user_id=invitation.invitee_id,
        email="" if invitation.invitee_id else invitation.email,
        kind=NotificationKind.INVITATION,
        key=_invitation_key(invitation.pk),
        message=f"{who} invited you to join {invitation.organization.name} as "
        f"{invitation.get_role_display().lower()}. Accept or decline by {until}: "
        f"{settings.SITE_URL}{reverse('invitation-link', args=[invitation.token])}",
    )


def on_invitation_closed(event: InvitationClosed) -> None:
    """Answered: its notification is read. Withdrawn before its e-mail went out: no
    e-mail (the notification goes); after: the link says it was withdrawn."""
    notifications = Notification.objects.filter(
        organization_id=event.organization_id, key=_invitation_key(event.invitation_id)
    )
    if event.withdrawn:
        notifications.filter(emailed_at__isnull=True, email_claimed_at__isnull=True).delete()
    notifications.filter(read_at__isnull=True).update(read_at=timezone.now())


def on_member_duties_asked(event: MemberDutiesAsked) -> None:
    """A member about to leave or to become a viewer: their open steps are still theirs
    to answer (nobody else may: `step_answer`), so they are named."""
    steps = (
        Step.objects.filter(
            organization_id=event.organization_id,
            assignee_id=event.user_id,
            state=StepState.OPEN,
        )
        .select_related("kr")
        .order_by("due_at", "id")
    )
    count = steps.count()
    if count:
        titles = list(dict.fromkeys(f"“{step.kr.title}”" for step in steps[:3]))
        event.duties.append(
            (
                "step",
                f"{event.username} has {count} open step{'s' if count != 1 else ''} "
                f"(on {', '.join(titles)}{' …' if count > 3 else ''})",
            )
        )


def on_krs_archiving(event: KeyResultsArchiving) -> None:
    """KRs about to be archived: an open round on one of them, or an open step (a review,
    an assessment: someone's work that only they may answer), must be finished first. A
    missed check-in's step is not: archiving ends the chase (`on_krs_archived`)."""
    ids = list(event.kr_ids)
    rounds = (
        Round.objects.filter(organization_id=event.organization_id, status=RoundStatus.OPEN)
        .filter(Q(parent_kr_id__in=ids) | Q(modified_kr_id__in=ids))
        .select_related("parent_kr")
        .order_by("started_at", "id")
    )
    for round in rounds[:3]:
        event.refusals.append(
            f"“{round.parent_kr.title}” has an open modification round: close it first "
            "(its combined view), then archive."
        )
    steps = (
        Step.objects.filter(
            organization_id=event.organization_id, kr_id__in=ids, state=StepState.OPEN
        )
        .exclude(kind=StepKind.CHECKIN)
        .exclude(round__in=rounds)  # named with their round above
        .select_related("kr", "assignee")
        .order_by("due_at", "id")
    )
    for step in steps[:3]:
        event.refusals.append(
            f"{step.assignee.username} has an open step on “{step.kr.title}” "
            f"({StepKind(step.kind).label.lower()}): it is answered first, then archive."
        )


def on_krs_archived(event: KeyResultsArchived) -> None:
    """Archived KRs are chased for no more check-ins: their open check-in steps end."""
    Step.objects.filter(
        organization_id=event.organization_id,
        kr_id__in=list(event.kr_ids),
        kind=StepKind.CHECKIN,
        state=StepState.OPEN,
    ).update(state=StepState.SUPERSEDED, done_at=timezone.now())
