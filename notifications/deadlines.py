"""The deadline scan: reminders before steps are due, escalations at the deadline,
orphaned rounds, and the chase of missed check-ins (SPEC.md §5).

The database is the source of truth. Each pass claims due steps in batches
(`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serializes writers),
records every message under a unique key and marks the step in the same
transaction: a scan that runs twice, two workers, or a worker killed midway
never sends twice and never loses one. Queries per batch are bounded.

A person told of one step by its reminder and then by its escalation, the reminder still
unread (an admin who is the assignee, a lead owning the KR, a scan that ran late), hears
it once: the escalation stands for the reminder (`services.reminders_group`).

The escalation pass may orphan a round, so it follows the one lock order
(okrplan/lib/locks.py: rounds before steps): it first claims the rounds whose notify
step is due, then the steps; a notify step whose round someone holds (a notice being
sent, a round being closed, a save joining it) is not claimed, and the next scan takes
it. Both claims skip what is held, so the scan never waits for a row lock.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from hierarchy.models import Cycle, KeyResult, Membership, Role
from hierarchy.timezones import user_zones
from notifications import webhooks
from notifications.models import (
    Notification,
    NotificationKind,
    Round,
    RoundEvent,
    RoundEventKind,
    Step,
    StepKind,
    StepState,
)
from notifications.services import (
    REMIND_AT,
    email_deliver,
    hours,
    notifications_create_bulk,
    reminders_group,
    round_events_create_bulk,
    round_orphan,
    steps_create_bulk,
    steps_mark_escalated,
    steps_mark_reminded,
    when,
)
from okrplan.lib import locks
from plans.models import CheckIn

BATCH_SIZE = 500

# What a step asks, worded for who reads it: its assignee ("your plan") or anyone else
# (an admin told of an escalation, a lead, a round's history, a colleague's calendar).
STEP_WORDS = {
    StepKind.NOTIFY: "send the impact notice on",
    StepKind.ASSESS: "assess the impact on",
    StepKind.CLOSE: "close the round on",
    StepKind.CASCADE_REVIEW: "review the cascade from upstream on",
    StepKind.DOWNWARD_REVIEW: "review the change of the parent of",
    StepKind.DEPENDENCY_REVIEW: "review the broken dependency of",
    StepKind.CHECKIN: "check in on",
}
STEP_WORDS_TO_ASSIGNEE = {**STEP_WORDS, StepKind.ASSESS: "assess the impact on your plan"}


@dataclass
class ScanReport:
    reminders: int = 0
    escalations: int = 0
    orphaned: int = 0
    batches: int = 0
    checkin_chases: int = 0
    emailed: int = 0
    queries_per_batch: list[int] = field(default_factory=list)


def _claim(filter_q: Q, batch_size: int) -> list[Step]:
    """Due steps that no other worker holds, in a bounded batch (the step level of the
    one lock order: after the rounds the pass claimed)."""
    steps = list(
        Step.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(filter_q)
        .select_related("kr__department", "kr__cycle", "assignee", "round")
        .order_by("id")[:batch_size]
    )
    locks.taking(locks.STEP, [s.pk for s in steps])
    return steps


def _claim_rounds_to_orphan(now: datetime, batch_size: int) -> list[int]:
    """The rounds, not orphaned yet, whose notify step is due and not escalated, that
    no one holds (the round level of the one lock order, before their steps): ids."""
    due_notify = Step.objects.filter(
        round=OuterRef("pk"),
        kind=StepKind.NOTIFY,
        state=StepState.OPEN,
        escalated_at__isnull=True,
        due_at__lte=now,
    )
    ids = list(
        Round.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .filter(Exists(due_notify), orphaned=False)
        .order_by("id")
        .values_list("pk", flat=True)[:batch_size]
    )
    locks.taking(locks.ROUND, ids)
    return ids


def step_what(step: Step, *, to_assignee: bool) -> str:
    """What `step` asks, for its assignee ("assess the impact on your plan “Sales
    pipeline”") or for anyone else ("assess the impact on “Sales pipeline”"): its KR, and
    the period of a check-in."""
    period = ""
    if step.kind == StepKind.CHECKIN and step.period is not None:
        labels = step.kr.cycle.periods
        if step.period < len(labels):
            period = f" for {labels[step.period].label}"
    words = (STEP_WORDS_TO_ASSIGNEE if to_assignee else STEP_WORDS).get(step.kind, step.kind)
    return f"{words} “{step.kr.title}”{period}"


def _reminders(now: datetime, batch_size: int) -> list[Step]:
    with transaction.atomic():
        steps = _claim(
            Q(state=StepState.OPEN, reminded_at__isnull=True, remind_at__lte=now), batch_size
        )
        if not steps:
            return []
        zones = user_zones(s.assignee_id for s in steps)
        notifications_create_bulk(
            notifications=[
                Notification(
                    organization_id=s.organization_id,
                    user_id=s.assignee_id,
                    kind=NotificationKind.REMINDER,
                    key=f"step:{s.pk}:reminder",
                    message=(
                        f"Reminder: {step_what(s, to_assignee=True)} "
                        f"by {when(s.due_at, s.assignee_id, zones)}."
                    ),
                    kr_id=s.kr_id,
                    round_id=s.round_id,
                    step_id=s.pk,
                )
                for s in steps
            ]
        )
        reminders_group(step_ids=[s.pk for s in steps], at=now)
        round_events_create_bulk(
            events=[
                RoundEvent(
                    organization_id=s.organization_id,
                    round_id=s.round_id,
                    kind=RoundEventKind.REMINDER,
                    at=now,
                    step=s,
                    message=(
                        f"Reminder to {s.assignee.username}: {step_what(s, to_assignee=False)}."
                    ),
                )
                for s in steps
                if s.round_id
            ]
        )
        steps_mark_reminded(step_ids=[s.pk for s in steps], at=now)
    return steps


def _escalations(now: datetime, batch_size: int) -> tuple[list[Step], int]:
    with transaction.atomic():
        claimed_rounds = _claim_rounds_to_orphan(now, batch_size)
        # a notify step that would orphan its round only with that round claimed above
        steps = _claim(
            Q(state=StepState.OPEN, escalated_at__isnull=True, due_at__lte=now)
            & (~Q(kind=StepKind.NOTIFY, round__orphaned=False) | Q(round_id__in=claimed_rounds)),
            batch_size,
        )
        if not steps:
            return [], 0
        org_ids = {s.organization_id for s in steps}
        admins: dict[int, list[int]] = {}
        for org_id, user_id in Membership.objects.filter(
            organization_id__in=org_ids, role=Role.ADMIN
        ).values_list("organization_id", "user_id"):
            admins.setdefault(org_id, []).append(user_id)
        notifications, events = [], []
        orphaned_rounds = []
        messages: dict[int, str] = {}
        leads = [s.kr.department.lead_id for s in steps if s.kind == StepKind.CHECKIN]
        zones = user_zones([*leads, *(u for users in admins.values() for u in users)])
        for s in steps:
            if s.kind == StepKind.CHECKIN:
                # a missed check-in goes to the department's lead
                recipients = [s.kr.department.lead_id]
            else:
                recipients = admins.get(s.organization_id, [])
            who = s.assignee.get_full_name() or s.assignee.username
            messages[s.pk] = (  # the webhook's: for no one reader, in UTC
                f"Overdue since {webhooks.moment(s.due_at)}: {who} was to "
                f"{step_what(s, to_assignee=False)}."
            )

            def told(user_id, s=s, who=who) -> str:  # for the admin or lead who reads it
                since = when(s.due_at, user_id, zones)
                if user_id == s.assignee_id:
                    return f"Overdue since {since}: you were to {step_what(s, to_assignee=True)}."
                return f"Overdue since {since}: {who} was to {step_what(s, to_assignee=False)}."

            notifications += [
                Notification(
                    organization_id=s.organization_id,
                    user_id=user_id,
                    kind=NotificationKind.ESCALATION,
                    key=f"step:{s.pk}:escalation:{user_id}",
                    message=told(user_id),
                    kr_id=s.kr_id,
                    round_id=s.round_id,
                    step_id=s.pk,
                )
                for user_id in recipients
            ]
            if s.round_id:
                events.append(
                    RoundEvent(
                        organization_id=s.organization_id,
                        round_id=s.round_id,
                        kind=RoundEventKind.ESCALATION,
                        at=now,
                        step=s,
                        # everyone reads a round's history: no "your", and the event's
                        # own time (shown in each reader's zone) says when
                        message=f"Overdue: {who} was to {step_what(s, to_assignee=False)}.",
                    )
                )
            if s.kind == StepKind.NOTIFY and s.round and not s.round.orphaned:
                orphaned_rounds.append(s.round)
        notifications_create_bulk(notifications=notifications)
        # an assignee who is also told of the overdue step (an admin, the lead owning a
        # KR): the escalation stands for the reminder still unread
        reminders_group(step_ids=[s.pk for s in steps], at=now)
        round_events_create_bulk(events=events)
        steps_mark_escalated(step_ids=[s.pk for s in steps], at=now)
        webhooks.steps_overdue(steps, messages=messages, now=now)
        for round in orphaned_rounds:
            round_orphan(round=round, now=now)
    return steps, len(orphaned_rounds)


def checkin_chase(now: datetime | None = None) -> int:
    """Open a check-in step for every ended period of a running cycle in which a KR
    without children has no check-in: a reminder to the owner at once, an escalation
    to the department's lead after the organization's grace period."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    created = 0
    cycles = Cycle.objects.filter(
        start__lt=today, end__gte=today - timedelta(days=31)
    ).select_related("organization")
    for cycle in cycles:
        ended = [p for p in cycle.periods if p.end < today]
        if not ended:
            continue
        krs = list(  # leaves: a parent's actuals are its contributors'; archived: none
            KeyResult.objects.filter(
                organization_id=cycle.organization_id,
                cycle=cycle,
                children__isnull=True,
                archived_at__isnull=True,
            ).values_list("pk", "owner_id", "department_id")
        )
        if not krs:
            continue
        done = set(
            CheckIn.objects.filter(organization_id=cycle.organization_id, kr__cycle=cycle)
            .values_list("kr_id", "period")
            .distinct()
        )
        chased = set(
            Step.objects.filter(
                organization_id=cycle.organization_id, kind=StepKind.CHECKIN, kr__cycle=cycle
            ).values_list("kr_id", "period")
        )
        grace = hours(cycle.organization.checkin_grace_hours)
        steps = [
            Step(
                organization_id=cycle.organization_id,
                kind=StepKind.CHECKIN,
                kr_id=kr_id,
                period=p.index,
                department_id=department_id,
                assignee_id=owner_id,
                due_at=now + grace,
                remind_at=now,
            )
            for kr_id, owner_id, department_id in krs
            for p in ended
            if (kr_id, p.index) not in done and (kr_id, p.index) not in chased
        ]
        created += steps_create_bulk(steps=steps)
    return created


def deadline_scan(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> ScanReport:
    """Process everything due at `now`, batch by batch, until nothing is left."""
    from django.db import connection

    now = now or timezone.now()
    report = ScanReport()
    report.checkin_chases = checkin_chase(now)
    while True:
        before = len(connection.queries) if connection.queries_log is not None else 0
        reminded = _reminders(now, batch_size)
        escalated, orphaned = _escalations(now, batch_size)
        if not reminded and not escalated:
            break
        report.batches += 1
        report.reminders += len(reminded)
        report.escalations += len(escalated)
        report.orphaned += orphaned
        report.queries_per_batch.append(len(connection.queries) - before)
    return report


def deadline_sweep(now: datetime | None = None) -> ScanReport:
    """The periodic sweep: everything due, then the e-mail of every notification not
    sent yet (what the scan recorded, and what a save could not queue)."""
    report = deadline_scan(now)
    report.emailed = email_deliver()
    return report


__all__ = ["REMIND_AT", "ScanReport", "checkin_chase", "deadline_scan", "deadline_sweep"]
