"""Reads for reviews and planning (SPEC.md §6): the quarterly review report of the
modification rounds, and the planning calendar as iCalendar.

Selectors only: nothing here writes. Both load a bounded number of queries,
however many rounds, steps or cycles there are.
"""

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from icalendar import Calendar, Event, vText

from hierarchy.models import Cycle, Organization
from hierarchy.selectors import cycles_with_current
from notifications.deadlines import step_what
from notifications.models import Round, RoundEventKind, Step, StepKind, StepState
from okrplan.lib import times
from okrplan.lib.numbers import fmt
from okrplan.lib.text import one_line

HUNDREDTH = Decimal("0.01")
CALENDAR_PAST = timedelta(days=366)  # cycles that ended longer ago than this are left out
STEP_BLOCK = timedelta(minutes=15)  # a deadline shows as the 15 minutes before it
FINISHED = (StepState.DONE, StepState.DECLINED)


# --- The quarterly review report --------------------------------------------------


def _hours(start: datetime | None, end: datetime | None) -> Decimal | None:
    if start is None or end is None:
        return None
    seconds = Decimal((end - start).total_seconds())
    return (seconds / 3600).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _step_start(round: Round, step: Step) -> datetime:
    """When the step's clock started: T0 for notify and close; for assess, the impact
    notice or the automatic (orphan) notice, whichever came first."""
    if step.kind in (StepKind.NOTIFY, StepKind.CLOSE):
        return round.started_at
    notices = [t for t in (round.noticed_at, round.orphaned_at) if t is not None]
    return min(notices) if notices else step.created_at


def _step_missed(step: Step, now: datetime) -> bool:
    """Not done by its deadline: done late, or still open (or superseded) after it."""
    if step.state in FINISHED:
        return step.done_at is not None and step.done_at > step.due_at
    ended = step.done_at if step.state == StepState.SUPERSEDED and step.done_at else now
    return ended > step.due_at


def _step_row(round: Round, step: Step, now: datetime) -> dict:
    done_at = step.done_at if step.state in FINISHED else None
    return {
        "id": step.pk,
        "step": step.kind,
        "department": step.department.name if step.department else None,
        "assignee": step.assignee.username,
        "due_at": step.due_at,
        "done_at": done_at,
        "state": step.state,
        "answer": step.answer,
        "duration_hours": fmt(_hours(_step_start(round, step), done_at), 2),
        "missed": _step_missed(step, now),
    }


def _round_row(round: Round, now: datetime) -> dict:
    steps = [_step_row(round, step, now) for step in round.steps.all()]
    modified = round.modified_kr
    return {
        "id": round.pk,
        "number": round.number,
        "label": round.label,
        "status": round.status,
        "orphaned": round.orphaned,
        "started_at": round.started_at,
        "modified_kr": {
            "id": modified.pk,
            "title": modified.title,
            "department": modified.department.name,
        },
        "rationale": round.revision.rationale if round.revision else None,
        "noticed_at": round.noticed_at,
        "closed_at": round.closed_at,
        "steps": steps,
        "notify_hours": fmt(_hours(round.started_at, round.noticed_at), 2),
        "close_hours": fmt(_hours(round.started_at, round.closed_at), 2),
        "missed": [row["step"] for row in steps if row["missed"]],
        "reminders": round.reminder_count,
        "escalations": round.escalation_count,
    }


def _median(values: list[Decimal | None]) -> str | None:
    """The median of the known values (None: the step did not happen)."""
    known = [value for value in values if value is not None]
    return fmt(statistics.median(known).quantize(HUNDREDTH, ROUND_HALF_UP), 2) if known else None


def quarterly_report(*, org: Organization, cycle: Cycle) -> dict:
    """Each shared KR of `cycle` that had rounds: its rounds, oldest first, with how
    long each step took and what was missed, and a summary over all of them.

    Two queries: the rounds (with their KRs, revision and event counts) and their steps.
    """
    now = timezone.now()
    rounds = (
        Round.objects.filter(organization=org, parent_kr__cycle=cycle)
        .select_related(
            "parent_kr__owner",
            "parent_kr__department",
            "modified_kr__department",
            "revision",
        )
        .annotate(
            reminder_count=Count("events", filter=Q(events__kind=RoundEventKind.REMINDER)),
            escalation_count=Count("events", filter=Q(events__kind=RoundEventKind.ESCALATION)),
        )
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=Step.objects.select_related("assignee", "department").order_by(
                    "due_at", "id"
                ),
            )
        )
        .order_by("parent_kr_id", "started_at", "id")
    )
    krs: dict[int, dict] = {}
    rows = []
    for round in rounds:
        kr = round.parent_kr
        if kr.pk not in krs:
            krs[kr.pk] = {
                "kr": {
                    "id": kr.pk,
                    "title": kr.title,
                    "owner": kr.owner.username,
                    "department": kr.department.name,
                },
                "rounds": [],
            }
        row = _round_row(round, now)
        krs[kr.pk]["rounds"].append(row)
        rows.append((round, row))
    return {
        "cycle": {"id": cycle.pk, "name": cycle.name, "start": cycle.start, "end": cycle.end},
        "krs": list(krs.values()),
        "summary": {
            "rounds": len(rows),
            "closed": sum(1 for round, _ in rows if round.closed_at is not None),
            "orphaned": sum(1 for round, _ in rows if round.orphaned),
            "missed_steps": sum(len(row["missed"]) for _, row in rows),
            "median_notify_hours": _median(
                [_hours(round.started_at, round.noticed_at) for round, _ in rows]
            ),
            "median_close_hours": _median(
                [_hours(round.started_at, round.closed_at) for round, _ in rows]
            ),
        },
    }


# --- The planning calendar ----------------------------------------------------------


@dataclass(frozen=True)
class CalendarEvent:
    """One entry of the planning calendar: all-day (`first`..`last`, both inclusive)
    or a deadline (`due_at`, shown as the STEP_BLOCK before it)."""

    uid: str
    kind: str  # cycle, refine, alignment, midcycle, period_end, or a step's kind
    summary: str
    stamp: datetime
    first: date | None = None
    last: date | None = None
    due_at: datetime | None = None
    description: str = ""
    mine: bool = False
    step: Step | None = None
    period_label: str = ""  # period_end: the period that ends

    @property
    def is_deadline(self) -> bool:
        return self.due_at is not None


@dataclass(frozen=True)
class CycleDates:
    cycle: Cycle
    events: list[CalendarEvent]  # the cycle itself first, then by date

    def of_kind(self, *kinds: str) -> list[CalendarEvent]:
        return [event for event in self.events if event.kind in kinds]


@dataclass(frozen=True)
class PlanningCalendar:
    org: Organization
    cycles: list[CycleDates]  # oldest first
    deadlines: list[CalendarEvent]  # the open steps, soonest first


def _day(uid: str, kind: str, summary: str, first: date, last: date, stamp) -> CalendarEvent:
    return CalendarEvent(uid=uid, kind=kind, summary=summary, stamp=stamp, first=first, last=last)


def _cycle_dates(cycle: Cycle) -> CycleDates:
    stamp = cycle.created_at.astimezone(UTC)
    prefix = f"cycle-{cycle.pk}"
    name = cycle.name
    events = [
        _day(f"{prefix}@okrplan", "cycle", f"Cycle · {name}", cycle.start, cycle.end, stamp),
        _day(
            f"{prefix}-alignment@okrplan",
            "alignment",
            f"Alignment meeting · {name}",
            cycle.alignment_meeting,
            cycle.alignment_meeting,
            stamp,
        ),
        _day(
            f"{prefix}-midcycle@okrplan",
            "midcycle",
            f"Mid-cycle check · {name}",
            cycle.midcycle_check,
            cycle.midcycle_check,
            stamp,
        ),
    ]
    if cycle.refine_start and cycle.refine_end:
        events.append(
            _day(
                f"{prefix}-refine@okrplan",
                "refine",
                f"Refine window · {name}",
                cycle.refine_start,
                cycle.refine_end,
                stamp,
            )
        )
    for period in cycle.periods:  # derived: no query
        events.append(
            CalendarEvent(
                uid=f"{prefix}-period-{period.index}@okrplan",
                kind="period_end",
                summary=f"Check-ins due: {period.label} ends · {name}",
                stamp=stamp,
                first=period.end,
                last=period.end,
                period_label=period.label,
            )
        )
    first, rest = events[0], events[1:]
    return CycleDates(cycle=cycle, events=[first, *sorted(rest, key=lambda e: (e.first, e.uid))])


def _step_deadline(step: Step, user) -> CalendarEvent:
    who = step.assignee.get_full_name() or step.assignee.username
    mine = step.assignee_id == user.pk
    what = step_what(step, to_assignee=mine)  # the feed is its subscriber's
    due = step.due_at.astimezone(UTC)
    department = f" ({step.department.name})" if step.department else ""
    return CalendarEvent(
        uid=f"step-{step.pk}@okrplan",
        kind=step.kind,
        summary=f"Due: {what} ({'you' if mine else who})",
        stamp=step.created_at.astimezone(UTC),
        due_at=due,
        description=(
            f"{what[:1].upper()}{what[1:]}. Assigned to {who}{department}. "
            f"Due {times.moment(due, UTC)}."
        ),
        mine=mine,
        step=step,
    )


def planning_calendar(*, org: Organization, user) -> PlanningCalendar:
    """The organization's planning calendar (the page and the iCalendar feed): for each
    cycle not archived that has not ended more than a year ago, the cycle, its refine
    window, alignment meeting, mid-cycle check and period ends (when check-ins are due); and
    every open step with its deadline, the caller's own saying "(you)". Two queries."""
    today = timezone.localdate()
    cycles = cycles_with_current(
        Cycle.objects.filter(
            organization=org, end__gte=today - CALENDAR_PAST, archived_at__isnull=True
        ),
        today,
    ).order_by("start", "id")
    steps = (
        Step.objects.filter(organization=org, state=StepState.OPEN)
        .select_related("kr__cycle", "assignee", "department")
        .order_by("due_at", "id")
    )
    return PlanningCalendar(
        org=org,
        cycles=[_cycle_dates(cycle) for cycle in cycles],
        deadlines=[_step_deadline(step, user) for step in steps],
    )


def _ics_event(entry: CalendarEvent) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", entry.stamp)
    # One line, without control characters (RFC 5545 TEXT has none): names stored before
    # they were refused at the door (okrplan/lib/text.py); icalendar escapes the rest.
    event.add("summary", one_line(entry.summary))
    if entry.is_deadline:
        event.add("dtstart", entry.due_at - STEP_BLOCK)
        event.add("dtend", entry.due_at)
        event.add("description", one_line(entry.description))
        event.add("categories", [entry.kind])
    else:
        event.add("dtstart", entry.first)
        if entry.last < date.max:
            event.add("dtend", entry.last + timedelta(days=1))  # an all-day DTEND is exclusive
        else:  # stored before cycles ended by CYCLE_LAST_DAY: the day after is no date
            event.add("duration", timedelta(days=(entry.last - entry.first).days + 1))
        event.add("transp", "TRANSPARENT")
    return event


def calendar_ics(*, org: Organization, user) -> bytes:
    """`planning_calendar` as iCalendar (RFC 5545). Two queries."""
    data = planning_calendar(org=org, user=user)
    calendar = Calendar()
    calendar.add("prodid", "-//okrplan//calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # An X- property is not known to be TEXT: icalendar left a line break in it unescaped
    # (AssertionError: 500 for the whole organization). Given as vText, it is escaped.
    calendar.add("x-wr-calname", vText(one_line(f"{org.name} · planning")))
    for cycle in data.cycles:
        for entry in cycle.events:
            calendar.add_component(_ics_event(entry))
    for entry in data.deadlines:
        calendar.add_component(_ics_event(entry))
    return calendar.to_ical()
