"""My work: a department lead's home."""

from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from hierarchy.models import Granularity
from hierarchy.scope import Scope, org_view
from notifications.models import (
    Step,
    StepKind,
    StepState,
)
from notifications.step_views import ANSWERS, step_queryset, step_title
from okrplan.lib.numbers import num
from plans.progress import STATUS_LABELS
from plans.selectors import kr_queryset, progress_map

# --- My work: the department lead's home --------------------------------------------

MY_KRS_SHOWN = 100


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cycle_span(cycle) -> str:
    """The period a plan covers, as My work names it: "Q3 2026 (3 months)"."""
    word = "week" if cycle.granularity == Granularity.WEEK else "month"
    return f"{cycle.name} ({_count(len(cycle.periods), word)})"


def step_what(step: Step) -> tuple[str, str]:
    """What an open step asks (`step_title`) and, for a step about a plan, the period the
    plan covers: its cycle ("Plan: Q3 2026 (3 months)")."""
    if step.kind == StepKind.CHECKIN:
        return step_title(step), ""
    return step_title(step), f"Plan: {cycle_span(step.kr.cycle)}"


@org_view
@require_GET
def my_home(request, scope: Scope):
    """My KRs (owned, or of departments I lead) with status and progress, and my open
    steps and review requests, each linking to where it is done: 4 queries of its own
    (and 1 a level more below shared KRs among them: their contributions' check-ins)."""
    user_id = scope.membership.user_id
    krs = list(
        kr_queryset(scope.org)
        .filter(Q(owner_id=user_id) | Q(department__lead_id=user_id), archived_at__isnull=True)
        .select_related("cycle", "parent")
        .order_by("-cycle__start", "cycle_id", "title", "id")[:MY_KRS_SHOWN]
    )
    rows = []
    progress = progress_map(organization_id=scope.org.pk, krs=krs)  # a shared KR's: its parts'
    for kr in krs:
        p = progress[kr.pk]
        rows.append(
            {
                "kr": kr,
                "span": cycle_span(kr.cycle),
                "progress": p,
                "status_label": STATUS_LABELS.get(p.status, p.status),
                "pct": None if p.progress_pct is None else f"{num(p.progress_pct)}%",
            }
        )
    now = timezone.now()
    steps = [
        {
            "step": s,
            "label": step_title(s),
            "what": step_what(s),
            "overdue": s.due_at < now,
            "answerable": s.kind in ANSWERS,
        }
        for s in step_queryset(scope)
        .filter(assignee_id=user_id, state=StepState.OPEN)
        .order_by("due_at", "id")
    ]
    return render(
        request,
        "notifications/my_home.html",
        {"scope": scope, "org": scope.org, "rows": rows, "steps": steps},
    )
