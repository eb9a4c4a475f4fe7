"""Pages everyone of an organization reads (SPEC.md §6): the planning calendar and
the quarterly review report. Each is built by the same selector as its API
(`notifications/reports.py`): the page and the feed or JSON never disagree."""

from collections import defaultdict
from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from hierarchy.models import Cycle
from hierarchy.scope import Scope, org_view
from hierarchy.selectors import cycles_with_current
from notifications import reports
from notifications.models import Answer, StepKind, StepState
from okrplan.lib.spreadsheets import Table, sheet_response, time_header

DATE_KINDS = ("refine", "alignment", "midcycle", "period_end")
DATE_LABELS = {
    "refine": "Refine window",
    "alignment": "Alignment meeting",
    "midcycle": "Mid-cycle check",
    "period_end": "Check-ins due",
}


@org_view
@require_GET
def planning_calendar(request, scope: Scope):
    data = reports.planning_calendar(org=scope.org, user=request.user)
    today = timezone.localdate()
    now = timezone.now()
    by_cycle = defaultdict(list)
    for deadline in data.deadlines:
        by_cycle[deadline.step.kr.cycle_id].append(
            {"event": deadline, "step": deadline.step, "overdue": deadline.due_at < now}
        )
    sections = []
    for dates in data.cycles:
        cycle = dates.cycle
        sections.append(
            {
                "cycle": cycle,
                "current": cycle.is_current,
                "ended": cycle.end < today,
                "dates": [
                    {
                        "event": event,
                        "label": DATE_LABELS[event.kind],
                        "what": _what(event, cycle),
                        "past": event.last < today,
                    }
                    for event in dates.of_kind(*DATE_KINDS)
                ],
                "deadlines": by_cycle.pop(cycle.pk, []),
            }
        )
    # Open steps of cycles that ended more than a year ago (rare): still open, still shown.
    others = [row for rows in by_cycle.values() for row in rows]
    return render(
        request,
        "notifications/calendar.html",
        {
            "scope": scope,
            "org": scope.org,
            "sections": sections,
            "others": sorted(others, key=lambda row: row["event"].due_at),
            "deadline_count": len(data.deadlines),
            "step_labels": dict(StepKind.choices),
        },
    )


def _what(event, cycle: Cycle) -> str:
    if event.kind == "period_end":
        return f"{event.period_label} ends: check in its actual values"
    if event.kind == "refine":
        return "Plans are drafted and submitted"
    if event.kind == "alignment":
        return "The departments align their shared key results"
    return "Progress against plan, halfway through"


# --- The quarterly review report ----------------------------------------------------


def _default_cycle(cycles: list[Cycle]) -> Cycle | None:
    """The current cycle, else the latest that has started, else the first (archived
    cycles only when asked for by id)."""
    today = timezone.localdate()
    current = next((c for c in cycles if c.is_current), None)
    if current is not None:
        return current
    cycles = [c for c in cycles if c.archived_at is None]  # newest first
    started = [c for c in cycles if c.start <= today]
    return started[0] if started else (cycles[0] if cycles else None)


def _report_cycle(request, scope: Scope) -> tuple[list[Cycle], Cycle | None]:
    """The organization's cycles, newest first, and the one asked for (`?cycle=`) or
    the default; a cycle of another organization is missing (404), as in the API."""
    cycles = list(cycles_with_current(scope.queryset(Cycle)).order_by("-start", "-id"))
    wanted = request.GET.get("cycle", "").strip()
    if wanted:
        cycle = next((c for c in cycles if str(c.pk) == wanted), None)
        if cycle is None:
            raise Http404
        return cycles, cycle
    return cycles, _default_cycle(cycles)


@org_view
@require_GET
def quarterly_report(request, scope: Scope):
    cycles, cycle = _report_cycle(request, scope)
    report = reports.quarterly_report(org=scope.org, cycle=cycle) if cycle else None
    labels = dict(StepKind.choices)
    states = dict(StepState.choices)
    answers = dict(Answer.choices)
    if report:
        for entry in report["krs"]:
            for round in entry["rounds"]:
                for step in round["steps"]:
                    step["label"] = labels.get(step["step"], step["step"])
                    step["state_label"] = states.get(step["state"], step["state"])
                    step["answer_label"] = answers.get(step["answer"], step["answer"])
                round["missed_labels"] = [labels.get(kind, kind) for kind in round["missed"]]
    return render(
        request,
        "notifications/quarterly_report.html",
        {
            "scope": scope,
            "org": scope.org,
            # the picker offers the cycles not archived (and the one shown, if it is)
            "cycles": [c for c in cycles if c.archived_at is None or c == cycle],
            "cycle": cycle,
            "report": report,
        },
    )


def _hours(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def quarterly_table(report: dict | None, title: str) -> Table:
    """The quarterly review as one table: a row per step of each round of each shared KR
    (a round without steps gets a row of its own), the round's figures on each."""
    labels = dict(StepKind.choices)
    states = dict(StepState.choices)
    answers = dict(Answer.choices)
    header = [
        "Shared key result",
        "KR id",
        "Department",
        "Owner",
        "Round",
        "Round status",
        "Orphaned",
        "Modified key result",
        "Modified by department",
        "Rationale",
        time_header("Started"),
        "Notice after (h)",
        "Closed after (h)",
        "Reminders",
        "Escalations",
        "Step",
        "Step department",
        "Assignee",
        time_header("Due"),
        time_header("Done"),
        "Took (h)",
        "State",
        "Answer",
        "Missed",
    ]
    rows = []
    for entry in report["krs"] if report else []:
        kr = entry["kr"]
        for round in entry["rounds"]:
            head = [
                kr["title"],
                kr["id"],
                kr["department"],
                kr["owner"],
                round["number"],
                round["status"],
                "yes" if round["orphaned"] else "no",
                round["modified_kr"]["title"],
                round["modified_kr"]["department"],
                round["rationale"] or "",
                round["started_at"],
                _hours(round["notify_hours"]),
                _hours(round["close_hours"]),
                round["reminders"],
                round["escalations"],
            ]
            if not round["steps"]:
                rows.append(head)
            for step in round["steps"]:
                rows.append(
                    [
                        *head,
                        labels.get(step["step"], step["step"]),
                        step["department"] or "",
                        step["assignee"],
                        step["due_at"],
                        step["done_at"],
                        _hours(step["duration_hours"]),
                        states.get(step["state"], step["state"]),
                        answers.get(step["answer"], step["answer"]) or "",
                        "yes" if step["missed"] else "no",
                    ]
                )
    return Table(title=title, header=header, rows=rows)


@org_view
@require_GET
def quarterly_report_export(request, scope: Scope, fmt: str):
    """The quarterly review of `?cycle=` (or the page's default cycle) as CSV or XLSX,
    from the report's own selector."""
    _, cycle = _report_cycle(request, scope)
    if cycle is None:
        raise Http404
    report = reports.quarterly_report(org=scope.org, cycle=cycle)
    return sheet_response(
        quarterly_table(report, f"Review {cycle.name}"),
        fmt_=fmt,
        name=f"{scope.org.slug} quarterly review {cycle.name}",
        fallback=f"quarterly-review-{cycle.pk}",
    )
